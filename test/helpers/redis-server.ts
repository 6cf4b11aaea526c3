import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { createClient } from 'redis';
import type { RedisLike } from '../../src/fleet/log.js';
import { waitFor } from './wait.js';

/** A real redis-server on a free loopback port, without persistence, for one test file. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** A connected client of its own (closed by stop()). */
  connect(): Promise<RedisLike>;
  /** Close every client, then the server. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Start `redis-server` (installed by .ci/run where missing) and wait until it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const client = createClient({ url, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        await client.close().catch(() => undefined);
      }
    },
    10_000,
    'redis-server to answer',
  );
  const clients: { close(): Promise<unknown> }[] = [];
  return {
    url,
    port,
    child,
    connect: async () => {
      const client = createClient({ url });
      client.on('error', () => undefined);
      await client.connect();
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
