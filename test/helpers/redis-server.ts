import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from 'redis';
import type { RedisLike } from '../../src/fleet/log.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

/** A real redis-server on a free loopback port, without persistence, for one test file. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** A connected client of its own (closed by stop()). */
  connect(): Promise<RedisLike>;
  /** SIGKILL the server (its data is gone: there is no persistence). */
  kill(): Promise<void>;
  /** SIGSTOP it: its sockets stay open and nothing answers (a stalled server), until resume(). */
  pause(): void;
  resume(): void;
  /** Start it again on the same port, empty, and wait until it answers. */
  restart(): Promise<void>;
  /** Close every client, then the server. */
  stop(): Promise<void>;
}

/** One redis-server process on `port`, answering PING; with a promise of its exit. */
async function spawnRedis(port: number, url: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const client = createClient({ url, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        await client.close().catch(() => undefined);
      }
    },
    10_000,
    'redis-server to answer',
  );
  return { child, exited };
}

/** Start `redis-server` (installed by .ci/run where missing) and wait until it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server = await spawnRedis(port, url);
  const clients: { close(): Promise<unknown> }[] = [];
  const kill = async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await server.exited;
  };
  return {
    url,
    port,
    connect: async () => {
      const client = createClient({ url });
      client.on('error', () => undefined);
      await client.connect();
      clients.push(client);
      return client;
    },
    kill,
    pause: () => server.child.kill('SIGSTOP'),
    resume: () => server.child.kill('SIGCONT'),
    restart: async () => {
      await kill();
      server = await spawnRedis(port, url);
    },
    stop: async () => {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      if (server.child.exitCode === null) server.child.kill('SIGTERM');
      await server.exited;
    },
  };
}
