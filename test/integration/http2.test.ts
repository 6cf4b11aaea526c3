import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startEchoUpstream, startUpstream, type TestUpstream } from '../helpers/upstreams.js';

const fixtures = join(import.meta.dirname, '../fixtures');
const cert = readFileSync(join(fixtures, 'tls-cert.pem'));
const TLS = `  tls: { cert: "${join(fixtures, 'tls-cert.pem')}", key: "${join(fixtures, 'tls-key.pem')}" }\n`;

/** One HTTP/2 request on a session: status, headers and body. */
function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string) {
  return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const stream = session.request(headers);
    let head: http2.IncomingHttpHeaders = {};
    let text = '';
    stream.on('response', (h) => {
      head = h;
    });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => {
      text += c;
    });
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

/** An HTTP/2 session, closed after the test. */
function connect(url: string, options: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

describe('HTTP/2 on the proxy listeners', () => {
  let echo: TestUpstream;
  let sy: Running | undefined;
  const sessions: http2.ClientHttp2Session[] = [];

  beforeAll(async () => {
    echo = await startEchoUpstream('blue');
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await sy?.close();
    sy = undefined;
  });
  afterAll(async () => {
    await closeAll([echo]);
  });

  const startWith = async (proxy: string, service: Record<string, unknown> = {}, upstream = echo.address) => {
    sy = await startSwitchyard(`proxy:\n  listen: ["127.0.0.1:0"]\n${proxy}admin:\n  listen: "127.0.0.1:0"\n${blueGreenYaml({ blue: [upstream] }, service)}`);
    return sy;
  };
  const session = async (url: string, options: http2.SecureClientSessionOptions = {}) => {
    const s = await connect(url, options);
    sessions.push(s);
    return s;
  };

  it('negotiates h2 by ALPN on a TLS listener, and still serves HTTP/1.1 there', async () => {
    const running = await startWith(TLS);
    const url = running.proxy.replace('http://', 'https://');
    const s = await session(url, { ca: cert });
    expect(s.alpnProtocol).toBe('h2');
    const res = await h2Request(s, { ':path': '/hello?x=1', ':method': 'GET', 'x-trace': 'abc' });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    // The upstream (HTTP/1.1) gets the request as HTTP/1.1 has it: no pseudo-headers, the authority as x-forwarded-host.
    expect(seen.url).toBe('/hello?x=1');
    expect(seen.headers['x-trace']).toBe('abc');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(Object.keys(seen.headers).some((h) => h.startsWith(':'))).toBe(false);
    expect(res.headers['x-request-id']).toBe(seen.headers['x-request-id']);
    const h1 = await request(`${url}/hello`, { dispatcher: new Agent({ connect: { ca: cert } }) });
    expect(h1.statusCode).toBe(200);
    expect(((await h1.body.json()) as { url: string }).url).toBe('/hello');
  });

  it('takes h2c (prior knowledge) beside HTTP/1.1 on a plaintext listener with proxy.http2', async () => {
    const running = await startWith('  http2: true\n');
    const s = await session(running.proxy);
    const got = await h2Request(s, { ':path': '/upload', ':method': 'POST', 'content-type': 'text/plain' }, 'x'.repeat(100_000));
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body)).toMatchObject({ method: 'POST', bodySize: 100_000 });
    // Many streams at once on one connection.
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => h2Request(s, { ':path': `/n/${i}` })));
    expect(many.every((r) => r.status === 200)).toBe(true);
    const h1 = await request(`${running.proxy}/plain`);
    expect(h1.statusCode).toBe(200);
    await h1.body.dump();
  });

  it('refuses h2c without proxy.http2: the plaintext listener speaks HTTP/1.1 alone', async () => {
    const running = await startWith('');
    const s = http2.connect(running.proxy);
    sessions.push(s);
    const failed = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(true));
      s.once('close', () => resolve(true));
      s.once('connect', () => {
        const stream = s.request({ ':path': '/' });
        stream.once('response', () => resolve(false));
        stream.once('error', () => resolve(true));
        stream.end();
      });
    });
    expect(failed).toBe(true);
  });

  it('forwards to HTTP/2 targets with protocol http2 (h2c)', async () => {
    const versions: string[] = [];
    const target = http2.createServer((req, res) => {
      versions.push(req.httpVersion);
      res.setHeader('content-type', 'text/plain');
      res.end(`h2 target saw ${req.url}`);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const running = await startWith('', { protocol: 'http2' }, `127.0.0.1:${(target.address() as net.AddressInfo).port}`);
      const res = await request(`${running.proxy}/over/h2`);
      expect(await res.body.text()).toBe('h2 target saw /over/h2');
      expect(versions).toEqual(['2.0']);
    } finally {
      // switchyard first: its pool holds the HTTP/2 session that the target's close waits for.
      await sy?.close();
      sy = undefined;
      await new Promise((r) => target.close(r));
    }
  });

  it('survives a rapid-reset flood and a CONTINUATION flood, and serves the next client', async () => {
    const running = await startWith('  http2: true\n');
    const { port } = new URL(running.proxy);
    // Rapid reset (CVE-2023-44487): open streams and cancel each at once, many times over.
    const flood = await session(running.proxy);
    let resets = 0;
    await new Promise<void>((resolve) => {
      flood.once('close', () => resolve());
      flood.once('error', () => resolve());
      flood.once('goaway', () => resolve());
      for (let i = 0; i < 5_000 && !flood.closed && !flood.destroyed; i++) {
        try {
          const stream = flood.request({ ':path': '/' });
          stream.on('error', () => {});
          stream.close(http2.constants.NGHTTP2_CANCEL);
          resets++;
        } catch {
          break;
        }
      }
      setTimeout(resolve, 1000).unref();
    });
    expect(resets).toBeGreaterThan(0);
    // CONTINUATION flood (CVE-2024-27983): a HEADERS frame never ended, then endless CONTINUATION frames.
    const closed = await continuationFlood(Number(port));
    expect(closed).toBe(true);
    const s = await session(running.proxy);
    expect((await h2Request(s, { ':path': '/after' })).status).toBe(200);
  });

  it('keeps going when a client resets its connection before a byte, and still times HTTP/1.1 bodies with a 408', async () => {
    const running = await startWith('  http2: true\n  client_body_timeout: 300\n');
    const { port } = new URL(running.proxy);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.resetAndDestroy();
        resolve();
      });
    });
    // An HTTP/1.1 body that stalls gets its 408 (the sniffing phase's timer is gone with it).
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('POST /slow HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nab'));
      socket.on('data', (d: Buffer) => {
        text += d.toString();
      });
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const s = await session(running.proxy);
    expect((await h2Request(s, { ':path': '/after' })).status).toBe(200);
  });

  it('joins cookie fields for HTTP/1.1 upstreams, and merges repeated headers HTTP/2 allows once', async () => {
    // An HTTP/1.1 upstream that sends two Date headers: node:http2 takes one field per name.
    const twice = await startUpstream((req, res) => {
      res.writeHead(
        200,
        [
          ['date', 'Mon, 30 Nov 2026 10:00:00 GMT'],
          ['date', 'Mon, 30 Nov 2026 10:00:01 GMT'],
          ['content-type', 'application/json'],
        ].flat(),
      );
      res.end(JSON.stringify({ cookie: req.headers.cookie }));
    });
    try {
      const running = await startWith('  http2: true\n', {}, twice.address);
      const s = await session(running.proxy);
      const res = await h2Request(s, { ':path': '/', cookie: ['a=1', 'b=2'] });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ cookie: 'a=1; b=2' });
    } finally {
      await sy?.close();
      sy = undefined;
      await twice.close();
    }
  });

  it('answers an HTTP/2 target that refuses before reading the body, and one that resets before answering', async () => {
    const target = http2.createServer();
    target.on('stream', (stream, headers) => {
      if (headers[':path'] === '/early') {
        stream.respond({ ':status': 401 });
        stream.end('no');
      } else stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const running = await startWith('', { protocol: 'http2', retries: 0 }, `127.0.0.1:${(target.address() as net.AddressInfo).port}`);
      const early = await request(`${running.proxy}/early`, { method: 'POST', body: 'x'.repeat(200_000), headers: { 'user-agent': 'one' } });
      expect(early.statusCode).toBe(401);
      expect(await early.body.text()).toBe('no');
      const reset = await request(`${running.proxy}/reset`);
      expect(reset.statusCode).toBe(502);
      await reset.body.dump();
    } finally {
      await sy?.close();
      sy = undefined;
      await new Promise((r) => target.close(r));
    }
  });
});
/** Send a header block that never ends (up to 20 MB of CONTINUATION frames); true once the server closes the connection. */
function continuationFlood(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
      const head = Buffer.alloc(9);
      head.writeUIntBE(payload.length, 0, 3);
      head[3] = type;
      head[4] = flags;
      head.writeUInt32BE(stream, 5);
      return Buffer.concat([head, payload]);
    };
    // A literal header field without indexing, new name: 0x00, name length, name, value length, value.
    const field = Buffer.concat([Buffer.from([0x00, 5]), Buffer.from('x-pad'), Buffer.from([0x7f, 0xe9, 0x06]), Buffer.alloc(1000, 97)]);
    let sent = 0;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(closed);
    };
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      socket.write(frame(0x4, 0, 0, Buffer.alloc(0))); // SETTINGS
      // HEADERS for stream 1: :method GET (indexed 2), :path / (4), :scheme http (6); no END_HEADERS.
      socket.write(frame(0x1, 0x0, 1, Buffer.from([0x82, 0x84, 0x86])));
      const pump = () => {
        while (!done && sent < 20_000) {
          sent++;
          if (!socket.write(frame(0x9, 0x0, 1, field))) {
            socket.once('drain', pump);
            return;
          }
        }
        if (!done) setTimeout(() => finish(false), 2000).unref();
      };
      pump();
    });
  });
}
