import http from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadAddress } from '../helpers/dead-address.js';
import { rawExchange } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';
import { startSwitchyard, type Running } from '../helpers/switchyard.js';
import { startUpstream, type TestUpstream } from '../helpers/upstreams.js';

/**
 * Hostile clients on raw sockets: every shape here was tried against the proxy; each is
 * refused with a clear status (never a silent close), and none reaches the origin.
 */
describe('hostile clients', () => {
  let origin: TestUpstream;
  let sy: Running;
  let port = 0;
  const seen: { method: string; url: string; host: string }[] = [];

  beforeAll(async () => {
    origin = await startUpstream((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '' });
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ url: req.url, host: req.headers.host })));
    });
    const services = [
      { name: 'public', host: 'o', routes: [{ name: 'public', hosts: ['public.example'], paths: ['/'], strip_path: false, preserve_host: true }] },
      { name: 'internal', host: 'o', routes: [{ name: 'internal', hosts: ['internal.example'], paths: ['/'], strip_path: false, preserve_host: true }] },
      { name: 'stripped', host: 'o', routes: [{ name: 'stripped', paths: ['/s'], strip_path: true }] },
      { name: 'admin', host: 'o', routes: [{ name: 'admin', paths: ['/admin'], strip_path: false }] },
      { name: 'rest', host: 'o', routes: [{ name: 'rest', paths: ['/public'], strip_path: false }] },
      { name: 'dead', host: 'd', retries: 0, routes: [{ name: 'dead', paths: ['/dead'], strip_path: false }] },
    ];
    const yaml = `proxy:\n  listen: ["127.0.0.1:0"]\n  client_header_timeout: 300ms\n  client_body_timeout: 300ms\n  max_connections: 50\nadmin:\n  listen: "127.0.0.1:0"\nservices: ${JSON.stringify(services)}\nupstreams: [{ name: o, targets: [{ target: "${origin.address}" }] }, { name: d, targets: [{ target: "${await deadAddress()}" }] }]\n`;
    sy = await startSwitchyard(yaml);
    port = Number(new URL(sy.proxy).port);
  });
  afterAll(async () => {
    await sy.close();
    await origin.close();
  });

  const request = (lines: string[], body = '') => `${lines.join('\r\n')}\r\n\r\n${body}`;

  it('refuses two Host headers with 400, as nginx does', async () => {
    const before = seen.length;
    const r = await rawExchange(port, request(['GET / HTTP/1.1', 'Host: public.example', 'Host: internal.example', 'Connection: close']));
    expect(r.status).toBe(400);
    expect(seen.length).toBe(before);
  });

  it.each([
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/.%2E/admin/x', '/admin/x'],
    ['/admin/./y', '/admin/y'],
  ])('routes %s as %s, and forwards it so', async (path, expected) => {
    const r = await rawExchange(port, request([`GET ${path} HTTP/1.1`, 'Host: x', 'Connection: close']));
    expect(r.status).toBe(200);
    expect(seen.at(-1)?.url).toBe(expected);
  });

  it.each([
    ['/public/..;/admin', '/admin'],
    ['/public/.;x/admin', '/public/admin'],
  ])('reads %s as Tomcat and Jetty will (path parameters on a dot-segment): %s', async (path, expected) => {
    const r = await rawExchange(port, request([`GET ${path} HTTP/1.1`, 'Host: x', 'Connection: close']));
    expect(r.status).toBe(200);
    expect(seen.at(-1)?.url).toBe(expected);
  });

  it.each(['/public/..\\admin', '/public/..%5cadmin', '/public/..%2fadmin', '/public/%2e%2e%2Fadmin'])(
    'refuses %s, which an upstream could read as climbing, with 400',
    async (path) => {
      const before = seen.length;
      const r = await rawExchange(port, request([`GET ${path} HTTP/1.1`, 'Host: x', 'Connection: close']));
      expect(r.status).toBe(400);
      expect(seen.length).toBe(before);
    },
  );

  it('keeps an encoded slash that climbs nowhere (GitLab-style ids)', async () => {
    const r = await rawExchange(port, request(['GET /public/group%2Fproject HTTP/1.1', 'Host: x', 'Connection: close']));
    expect(r.status).toBe(200);
    expect(seen.at(-1)?.url).toBe('/public/group%2Fproject');
  });

  it('answers CONNECT with 405 instead of dropping the connection', async () => {
    const r = await rawExchange(port, request(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443']));
    expect(r.status).toBe(405);
  });

  it('never forwards a path that climbs above /, with strip_path', async () => {
    const r = await rawExchange(port, request(['GET /s/../../etc/passwd HTTP/1.1', 'Host: x', 'Connection: close']));
    // /etc/passwd matches no route: 404, and the origin never sees a "..".
    expect(r.status).toBe(404);
    expect(seen.every((s) => !s.url.includes('..'))).toBe(true);
  });

  it('routes an absolute-form target on its authority (RFC 9112 3.2.2)', async () => {
    const r = await rawExchange(port, request(['GET http://internal.example/x HTTP/1.1', 'Host: public.example', 'Connection: close']));
    expect(r.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/x', host: 'internal.example' });
  });

  it.each([
    ['Content-Length with Transfer-Encoding', request(['POST /admin HTTP/1.1', 'Host: x', 'Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\n')],
    ['two Content-Lengths', request(['POST /admin HTTP/1.1', 'Host: x', 'Content-Length: 4', 'Content-Length: 5'], 'abcd')],
    ['an obs-fold header', request(['GET /admin HTTP/1.1', 'Host: x', 'X-A: a', ' folded'])],
    ['a bad chunk size', request(['POST /admin HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'], 'zz\r\nabc\r\n0\r\n\r\n')],
    ['a bare LF line end', 'GET /admin HTTP/1.1\nHost: x\n\n'],
    ['a NUL in a header', request(['GET /admin HTTP/1.1', 'Host: x', 'X-A: a\u0000b'])],
    ['a request line that is no HTTP', 'HELLO\r\n\r\n'],
  ])('refuses %s with 400 and never reaches the origin', async (_what, bytes) => {
    const before = seen.length;
    const r = await rawExchange(port, bytes);
    expect(r.status).toBe(400);
    expect(r.text).toContain('"code":"BAD_REQUEST"');
    expect(seen.length).toBe(before);
  });

  it('answers 431 for oversized headers and 414 for an oversized URL', async () => {
    const big = await rawExchange(port, request(['GET /admin HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]));
    expect(big.status).toBe(431);
    const longUrl = await rawExchange(port, request([`GET /admin/${'a'.repeat(20_000)} HTTP/1.1`, 'Host: x']));
    expect(longUrl.status).toBe(414);
    const overLimit = await rawExchange(port, request([`GET /admin/${'a'.repeat(9_000)} HTTP/1.1`, 'Host: x', 'Connection: close']));
    expect(overLimit.status).toBe(414);
  });

  it('answers a slowloris header trickle with 408 after client_header_timeout', async () => {
    const started = Date.now();
    const parts = ['GET /admin HTTP/1.1\r\n', 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n', 'X-E: 5\r\n', 'X-F: 6\r\n'];
    const r = await rawExchange(port, parts, 5_000, 200);
    expect(r.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('closes a connection whose body stops arriving after it was already answered', async () => {
    // The upstream is down: the 502 goes out before the body is read; the client then stalls.
    const r = await rawExchange(port, [request(['POST /dead/x HTTP/1.1', 'Host: x', 'Content-Length: 10'], 'ab')], 5_000);
    expect(r.status).toBe(502);
    expect(r.closed).toBe(true); // within client_body_timeout, not left open forever
  });

  it('answers a body that stops arriving with 408 after client_body_timeout', async () => {
    const r = await rawExchange(port, [request(['POST /admin HTTP/1.1', 'Host: x', 'Content-Length: 10'], 'ab')], 5_000);
    expect(r.status).toBe(408);
    expect(r.text).toContain('"code":"REQUEST_TIMEOUT"');
  });

  it('serves an upgrade it does not relay (h2c) as plain HTTP/1.1, and refuses a POST asking for websocket with 400', async () => {
    const h2c = await rawExchange(
      port,
      request(['GET /admin/h2c HTTP/1.1', 'Host: x', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']),
    );
    expect(h2c.status).toBe(200);
    expect(h2c.closed).toBe(true);
    expect(seen.at(-1)?.url).toBe('/admin/h2c');
    const post = await rawExchange(port, request(['POST /admin HTTP/1.1', 'Host: x', 'Connection: Upgrade', 'Upgrade: websocket', 'Content-Length: 2'], 'hi'));
    expect(post.status).toBe(400);
  });

  it('closes connections beyond max_connections at once', async () => {
    const sockets: Socket[] = [];
    try {
      const { connect } = await import('node:net');
      for (let i = 0; i < 60; i++) sockets.push(connect(port, '127.0.0.1'));
      await Promise.all(sockets.map((s) => new Promise((r) => s.once('connect', r).once('error', r).once('close', r))));
      const closed = await Promise.all(
        sockets.map((s) => new Promise<boolean>((r) => (s.destroyed ? r(true) : s.once('close', () => r(true)).setTimeout(500, () => r(false))))),
      );
      expect(closed.filter(Boolean).length).toBeGreaterThanOrEqual(10);
      // The listener still serves once they are gone.
      for (const s of sockets) s.destroy();
      const after = await new Promise<number>((resolve) =>
        http.get(`${sy.proxy}/admin`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }),
      );
      expect(after).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it("passes a slow reader's backpressure to the upstream instead of buffering the response", async () => {
    let written = 0;
    let blocked = false;
    let finish: () => void = () => undefined;
    const big = await startUpstream((_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 97);
      const pump = () => {
        while (written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            blocked = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      finish = () => res.end();
      pump();
    });
    const yaml = `proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\nservices: [{ name: big, host: b, routes: [{ paths: ["/"] }] }]\nupstreams: [{ name: b, targets: [{ target: "${big.address}" }] }]\n`;
    const sy2 = await startSwitchyard(yaml);
    const { connect } = await import('node:net');
    const client = connect(Number(new URL(sy2.proxy).port), '127.0.0.1');
    try {
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      client.pause(); // a client that does not read
      await waitFor(() => blocked, 10_000, 'the upstream to feel the backpressure');
      // Once socket buffers are full, nothing more is pulled from the upstream while the client does not read.
      await waitFor(
        async () => {
          const before = written;
          await new Promise((r) => setTimeout(r, 300));
          return written === before;
        },
        20_000,
        'the upstream to stay blocked',
      );
      expect(written).toBeLessThan(64 * 1024 * 1024); // of the 256 MB it would send: kernel buffers, not the proxy's memory
    } finally {
      client.destroy();
      finish();
      await sy2.close();
      await big.close();
    }
  });
});
