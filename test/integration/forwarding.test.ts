import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { closeAll, startEchoUpstream, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { startSwitchyard, type Running } from '../helpers/switchyard.js';

describe('routing and forwarding', () => {
  let echo: TestUpstream;
  let other: TestUpstream;
  let sy: Running;

  beforeAll(async () => {
    echo = await startEchoUpstream('echo');
    other = await startEchoUpstream('other');
    sy = await startSwitchyard(`
services:
  - name: api
    host: main
    path: /anything
    routes:
      - { name: api, paths: ["/api"], strip_path: true }
      - { name: api-host, hosts: ["api.example.com"], paths: ["/"], strip_path: false, preserve_host: true }
  - name: admin-only
    host: side
    routes:
      - { name: deletes, paths: ["/api"], methods: [DELETE] }
      - { name: wild, hosts: ["*.example.org"] }
upstreams:
  - name: main
    targets: [{ target: "${echo.address}" }]
  - name: side
    targets: [{ target: "${other.address}" }]
`);
  });
  afterAll(async () => {
    await sy.close();
    await closeAll([echo, other]);
  });

  const get = async (path: string, init: { method?: string; headers?: Record<string, string> } = {}) => {
    const res = await request(`${sy.proxy}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, any> };
  };

  it('strips the matched prefix and prepends the service path', async () => {
    const { status, json } = await get('/api/users?id=7');
    expect(status).toBe(200);
    expect(json.name).toBe('echo');
    expect(json.url).toBe('/anything/users?id=7');
  });

  it('sets X-Forwarded-* and sends the target as Host unless preserve_host', async () => {
    const plain = await get('/api/x', { headers: { 'x-forwarded-for': '10.1.1.1' } });
    expect(plain.json.headers.host).toBe(echo.address);
    expect(plain.json.headers['x-forwarded-for']).toBe('10.1.1.1, 127.0.0.1');
    expect(plain.json.headers['x-forwarded-proto']).toBe('http');
    expect(plain.json.headers['x-forwarded-port']).toBe(new URL(sy.proxy).port);

    const kept = await get('/y', { headers: { host: 'api.example.com' } });
    expect(kept.json.headers.host).toBe('api.example.com');
    expect(kept.json.headers['x-forwarded-host']).toBe('api.example.com');
    expect(kept.json.url).toBe('/anything/y');
  });

  it('drops headers the client names in Connection', async () => {
    // node:http sends Connection as given (undici's client refuses custom tokens).
    const { port } = new URL(sy.proxy);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/api/c', headers: { connection: 'keep-alive, x-drop', 'x-drop': '1', 'x-keep': '2' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    const seen = JSON.parse(body).headers;
    expect(seen['x-drop']).toBeUndefined();
    expect(seen['x-keep']).toBe('2');
  });

  it('routes by method and wildcard host', async () => {
    expect((await get('/api/z', { method: 'DELETE' })).json.name).toBe('other');
    expect((await get('/q', { headers: { host: 'eu.example.org' } })).json.name).toBe('other');
  });

  it('answers 404 with a JSON body when no route matches', async () => {
    const res = await get('/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.json).toEqual({ message: 'no Route matched with those values', code: 'NO_ROUTE' });
  });

  it('reuses keep-alive connections to the target', async () => {
    const sockets = new Set<unknown>();
    const onConnection = (s: unknown) => sockets.add(s);
    echo.server.on('connection', onConnection);
    for (let i = 0; i < 20; i++) await get('/api/k');
    echo.server.off('connection', onConnection);
    expect(sockets.size).toBeLessThanOrEqual(1);
  });
});

describe('a "/" route with strip_path (Kong\'s default)', () => {
  it('keeps the request path, leading slash included', async () => {
    const up = await startEchoUpstream('root');
    const sy = await startSwitchyard(
      `services: [{ name: s, host: u, routes: [{ paths: ["/"] }] }]\nupstreams: [{ name: u, targets: [{ target: "${up.address}" }] }]\n`,
    );
    try {
      const res = await request(`${sy.proxy}/foo/bar?x=1`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toMatchObject({ url: '/foo/bar?x=1' });
    } finally {
      await sy.close();
      await up.close();
    }
  });
});

describe('streaming bodies', () => {
  let up: TestUpstream;
  let sy: Running;
  /** Resolves when the upstream has received its first request-body chunk. */
  let firstChunkSeen: () => void = () => undefined;
  let sendRest: () => void = () => undefined;
  const MB = 1024 * 1024;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/upload') {
        let size = 0;
        req.on('data', (c: Buffer) => {
          if (size === 0) firstChunkSeen();
          size += c.length;
        });
        req.on('end', () => res.end(JSON.stringify({ size })));
      } else {
        // Download: 12 MB, but the rest only once the client has seen the first chunk.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(MB, 1));
        sendRest = () => {
          for (let i = 0; i < 11; i++) res.write(Buffer.alloc(MB, 2));
          res.end();
        };
      }
    });
    sy = await startSwitchyard(`
services: [{ name: s, host: u, routes: [{ paths: ["/"], strip_path: false }] }]
upstreams: [{ name: u, targets: [{ target: "${up.address}" }] }]
`);
  });
  afterAll(async () => {
    await sy.close();
    await up.close();
  });

  it('streams a 12 MB upload: the upstream sees the start before the client sends the rest', async () => {
    const seen = new Promise<void>((resolve) => (firstChunkSeen = resolve));
    const { port } = new URL(sy.proxy);
    const result = await new Promise<{ size: number }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(MB, 3));
      // Only once the upstream has the first megabyte does the client send the rest: a proxy
      // that buffered whole bodies would never get here.
      void seen.then(() => {
        for (let i = 0; i < 11; i++) req.write(Buffer.alloc(MB, 4));
        req.end();
      });
    });
    expect(result.size).toBe(12 * MB);
  });

  it('streams a 12 MB download: the client sees the start before the upstream sends the rest', async () => {
    const res = await request(`${sy.proxy}/download`);
    let size = 0;
    for await (const chunk of res.body) {
      if (size === 0) sendRest();
      size += (chunk as Buffer).length;
    }
    expect(res.statusCode).toBe(200);
    expect(size).toBe(12 * MB);
  });
});
