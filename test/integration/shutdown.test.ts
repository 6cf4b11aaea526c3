import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { startSwitchyard, type Running } from '../helpers/switchyard.js';
import { startUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

/** An upgrade server that answers 101 and then never closes its side, even after the client's FIN. */
async function halfOpenUpgradeServer(): Promise<{ address: string; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n') && !head.startsWith('done')) {
        head = 'done';
        socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
      }
    });
    socket.on('end', () => undefined); // a FIN changes nothing: this side stays open
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function openTunnel(proxy: string): Promise<net.Socket> {
  const { port } = new URL(proxy);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { connection: 'Upgrade', upgrade: 'websocket' } });
    req.on('upgrade', (_res, socket: net.Socket) => resolve(socket));
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

const yaml = (target: string, proxy: string) =>
  `proxy:\n  listen: ["127.0.0.1:0"]\n${proxy}admin:\n  listen: "127.0.0.1:0"\nservices: [{ name: svc, host: u, routes: [{ paths: ["/"] }] }]\nupstreams: [{ name: u, targets: [{ target: "${target}" }] }]\n`;

describe('shutdown and long-lived connections', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('closes a tunnel whose upstream ignores FIN after tunnel_timeout, both sides', async () => {
    const up = await halfOpenUpgradeServer();
    cleanup.push(() => up.close());
    const sy = await startSwitchyard(yaml(up.address, '  tunnel_timeout: 1s\n'));
    cleanup.push(() => sy.close());
    const client = await openTunnel(sy.proxy);
    await waitFor(() => sy.app.proxies[0].tunnelSockets === 2, 5_000, 'both sides of the tunnel');
    client.end(); // the client leaves; the upstream does not close after the FIN
    // The proxy lets go of both sides after 1 s without traffic (they would stay forever otherwise).
    await waitFor(() => sy.app.proxies[0].tunnelSockets === 0, 5_000, 'the tunnel to be closed');
  });

  it('bounds shutdown: open tunnels and busy connections are closed and close() returns within shutdown_timeout', async () => {
    const up = await halfOpenUpgradeServer();
    cleanup.push(() => up.close());
    let hold: http.ServerResponse | undefined;
    const slow = await startUpstream((_req, res) => {
      hold = res; // never answered
    });
    cleanup.push(() => slow.close());
    const sy = await startSwitchyard(
      `proxy:\n  listen: ["127.0.0.1:0"]\n  shutdown_timeout: 300ms\nadmin:\n  listen: "127.0.0.1:0"\nservices: [{ name: ws, host: u, routes: [{ paths: ["/"] }] }, { name: slow, host: s, routes: [{ paths: ["/slow"] }] }]\nupstreams: [{ name: u, targets: [{ target: "${up.address}" }] }, { name: s, targets: [{ target: "${slow.address}" }] }]\n`,
    );
    await openTunnel(sy.proxy);
    await waitFor(() => sy.app.proxies[0].tunnelSockets === 2, 5_000, 'both sides of the tunnel');
    const pool = new Pool(sy.proxy);
    cleanup.push(() => pool.destroy());
    const pending = pool.request({ path: '/slow', method: 'GET' }).catch((err: Error) => err);
    await waitFor(() => hold !== undefined, 5_000, 'the slow request at its upstream');
    const started = Date.now();
    await sy.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(sy.app.proxies[0].tunnelSockets).toBe(0);
    expect(await pending).toBeInstanceOf(Error); // cut at the bound, as HAProxy's hard-stop-after does
  });

  it('lets a request in flight at the drain finish, and closes its connection after it, long before the bound', async () => {
    let answer: () => void = () => undefined;
    const slow = await startUpstream((_req, res) => {
      answer = () => res.end('done');
    });
    cleanup.push(() => slow.close());
    const sy = await startSwitchyard(yaml(slow.address, '  shutdown_timeout: 5s\n'));
    const pool = new Pool(sy.proxy);
    cleanup.push(() => pool.destroy());
    const pending = pool.request({ path: '/', method: 'GET' });
    await waitFor(() => slow.hits === 1, 5_000, 'the request at its upstream');
    const started = Date.now();
    const closed = sy.close();
    answer();
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).toBe('close');
    await res.body.dump();
    await closed;
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('drains without resets: every request sent before the listener closed is answered', async () => {
    const up = await startUpstream((_req, res) => res.end('ok'));
    cleanup.push(() => up.close());
    const sy: Running = await startSwitchyard(yaml(up.address, ''));
    const pool = new Pool(sy.proxy, { connections: 16 });
    cleanup.push(() => pool.destroy());
    const outcomes: { sentAt: number; ok: boolean; error?: string }[] = [];
    let closingAt = Number.POSITIVE_INFINITY;
    const deadline = Date.now() + 10_000;
    const loop = async () => {
      // Each loop stops at its first failure after the close began (the listener is gone), or at the deadline.
      while (Date.now() < deadline) {
        const sentAt = performance.now();
        try {
          const res = await pool.request({ path: '/', method: 'GET' });
          await res.body.dump();
          outcomes.push({ sentAt, ok: res.statusCode === 200 });
        } catch (err) {
          outcomes.push({ sentAt, ok: false, error: (err as { code?: string }).code ?? String(err) });
          if (sentAt >= closingAt) return;
        }
      }
    };
    const loops = Promise.all(Array.from({ length: 16 }, loop));
    await waitFor(() => outcomes.length >= 2_000, 10_000, '2,000 requests');
    closingAt = performance.now();
    await sy.close();
    await loops;
    const before = outcomes.filter((o) => o.sentAt < closingAt);
    expect(before.length).toBeGreaterThan(2_000);
    expect(before.filter((o) => !o.ok)).toEqual([]);
  });
});
