import http from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';

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
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port, path: '/ws/chat',
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('upgrade', (res, s: Socket) => (res.statusCode === 101 ? resolve(s) : reject(new Error(`status ${res.statusCode}`))));
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
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
});
