import http from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { deadAddress } from '../helpers/dead-address.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';

/** Ask for an upgrade: the tunnel's socket, or the status it was refused with. */
function upgrade(port: string, path: string): Promise<Socket | number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (_res, s: Socket) => resolve(s));
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('WebSocket upgrades', () => {
  let up: TestUpstream;
  let sy: Running;
  let upgradedPath = '';
  const tunnels = new Set<Socket>();

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.end('plain'));
    // A minimal upgrade server: accept, then echo every byte back upper-cased.
    up.server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
      upgradedPath = req.url ?? '';
      tunnels.add(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
      socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    });
    sy = await startSwitchyard(blueGreenYaml({ u: [up.address] }, { routes: [{ paths: ['/ws'], strip_path: true }] }));
  });
  afterAll(async () => {
    for (const s of tunnels) s.destroy(); // upgraded sockets are no longer the server's to close
    await sy.close();
    await up.close();
  });

  it('passes the upgrade through to the chosen target and relays both ways', async () => {
    const { port } = new URL(sy.proxy);
    const socket = await upgrade(port, '/ws/chat');
    if (typeof socket === 'number') throw new Error(`no upgrade: ${socket}`);
    const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    socket.write('hello');
    expect(await echoed).toBe('HELLO');
    expect(upgradedPath).toBe('/chat');
    socket.destroy();
  });

  it('answers an upgrade with no healthy target 503 with a JSON body', async () => {
    await request(`${sy.admin}/upstreams/u/targets/${up.address}/unhealthy`, { method: 'POST' });
    const { port } = new URL(sy.proxy);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/ws/x', headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(503);
    await request(`${sy.admin}/upstreams/u/targets/${up.address}/healthy`, { method: 'POST' });
  });

  it('counts upgrades like requests and ejects a target whose connect fails (passive health), then fails over', async () => {
    const dead = await deadAddress();
    const passive = { passive: { unhealthy: { tcp_failures: 1 } } };
    const yaml = blueGreenYaml({ w: [dead, up.address] }, { routes: [{ paths: ['/'], strip_path: false }] }).replace(
      '"targets":',
      `"healthchecks":${JSON.stringify(passive)},"targets":`,
    );
    const sy2 = await startSwitchyard(yaml);
    try {
      const { port } = new URL(sy2.proxy);
      const results: (Socket | number)[] = [];
      for (let i = 0; i < 4; i++) results.push(await upgrade(port, '/chat'));
      const statuses = results.map((r) => (typeof r === 'number' ? r : 101));
      for (const r of results) if (typeof r !== 'number') r.destroy();
      // The first pick is the dead target: 502, and it is ejected; every later upgrade reaches the live one.
      expect(statuses).toEqual([502, 101, 101, 101]);
      const health = (await (await request(`${sy2.admin}/upstreams/w/health`)).body.json()) as { data: { target: string; health: string }[] };
      expect(health.data.find((t) => t.target === dead)?.health).toBe('UNHEALTHY');
      const metrics = await (await request(`${sy2.admin}/metrics`)).body.text();
      expect(metrics).toContain(`switchyard_requests_total{service="svc",upstream="w",target="${up.address}",code="101"} 3`);
      expect(metrics).toContain(`switchyard_requests_total{service="svc",upstream="w",target="${dead}",code="502"} 1`);
      expect(metrics).toContain(`switchyard_upstream_errors_total{service="svc",upstream="w",target="${dead}",kind="connect"} 1`);
      // The rollout window of the upstream counts them too: 4 handshakes, 1 failed.
      const window = sy2.app.state.traffic.get('w');
      expect([window.requests, window.errors]).toEqual([4, 1]);
    } finally {
      await sy2.close();
    }
  });

  it('counts a refused upgrade, and an upstream answering the handshake 503 counts against its passive health', async () => {
    const failing = await startUpstream((_req, res) => res.end('plain'));
    failing.server.on('upgrade', (_req: http.IncomingMessage, socket: Socket) => {
      socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    const passive = { passive: { unhealthy: { http_failures: 1 } } };
    const yaml = blueGreenYaml({ f: [failing.address] }, { routes: [{ paths: ['/'], strip_path: false }] }).replace(
      '"targets":',
      `"healthchecks":${JSON.stringify(passive)},"targets":`,
    );
    const sy3 = await startSwitchyard(yaml);
    try {
      const { port } = new URL(sy3.proxy);
      expect(await upgrade(port, '/chat')).toBe(503); // the upstream's own answer
      expect(await upgrade(port, '/chat')).toBe(503); // refused: its only target was ejected
      const health = (await (await request(`${sy3.admin}/upstreams/f/health`)).body.json()) as { data: { health: string }[] };
      expect(health.data[0].health).toBe('UNHEALTHY');
      const metrics = await (await request(`${sy3.admin}/metrics`)).body.text();
      expect(metrics).toContain(`switchyard_requests_total{service="svc",upstream="f",target="${failing.address}",code="503"} 1`);
      expect(metrics).toContain('switchyard_requests_total{service="svc",upstream="f",target="",code="503"} 1');
    } finally {
      await sy3.close();
      await failing.close();
    }
  });
});
