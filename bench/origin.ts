import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { reservePort } from './free-port.js';
import { probe } from './probe.js';
import { atExit, canPin, CPU, stopChild } from './processes.js';
import { startUpstreams } from './upstreams.js';

/** The origin the many-clients scenario forwards to. */
export interface Origin {
  /** "127.0.0.1:PORT". */
  address: string;
  /** nginx's h2c (HTTP/2, prior knowledge) port, "127.0.0.1:PORT"; undefined for the Node origin. */
  h2Address?: string;
  kind: 'nginx' | 'node';
  stop(): Promise<void>;
}

/**
 * An origin that is not the bottleneck: nginx with one worker on the load CPU when it is
 * installed (`apt-get install nginx-light`), answering `blue` with `x-upstream: blue`;
 * else switchyard's Node demo upstream.
 */
export async function startOrigin(): Promise<Origin> {
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error !== undefined) {
    const node = await startUpstreams(['blue']);
    return { address: node.addresses[0], kind: 'node', stop: () => node.stop() };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-nginx-'));
  const forget = atExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await reservePort();
  const h2Port = await reservePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      'worker_processes 1;',
      'daemon off;',
      'master_process off;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 8192; }',
      'http {',
      '  access_log off;',
      '  keepalive_requests 10000000;',
      `  client_body_temp_path ${dir};`,
      `  server { listen 127.0.0.1:${port} backlog=4096; location / { add_header x-upstream blue; return 200 "blue\\n"; } }`,
      `  server { listen 127.0.0.1:${h2Port} http2 backlog=4096; http2_max_concurrent_streams 1024; keepalive_requests 10000000; location / { add_header x-upstream blue; return 200 "blue\\n"; } }`,
      '}',
    ].join('\n'),
  );
  const argv = ['-c', conf, '-p', dir];
  const child: ChildProcess = canPin()
    ? spawn('taskset', ['-c', String(CPU.load), 'nginx', ...argv], { stdio: 'ignore' })
    : spawn('nginx', argv, { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    forget();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    if ((await probe(`http://${address}/`)).status === 200) return { address, h2Address: `127.0.0.1:${h2Port}`, kind: 'nginx', stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`nginx did not start on ${address}`);
}
