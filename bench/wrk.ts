import { spawnSync } from 'node:child_process';
import { runPinned } from './processes.js';

/** What one wrk run measured (latencies in milliseconds). */
export interface WrkResult {
  connections: number;
  seconds: number;
  reqPerSec: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** wrk's socket errors: connect, read, write, and requests with no answer within its 2 s timeout. */
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  non2xx: number;
}

/** True when wrk is installed (the many-clients and workers scenarios need it: `apt-get install wrk`). */
export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** "1.23ms", "456.7us", "2.01s" → milliseconds. */
function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** Parse wrk's --latency report. */
export function parseWrk(text: string, connections: number, seconds: number): WrkResult {
  const pick = (re: RegExp): string | undefined => re.exec(text)?.[1];
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    connections,
    seconds,
    reqPerSec: Number(pick(/Requests\/sec:\s+([\d.]+)/) ?? 0),
    requests: Number(pick(/(\d+) requests in/) ?? 0),
    p50Ms: toMs(pick(/^\s+50%\s+(\S+)/m) ?? ''),
    p99Ms: toMs(pick(/^\s+99%\s+(\S+)/m) ?? ''),
    maxMs: toMs(pick(/^\s+Latency\s+\S+\s+\S+\s+(\S+)/m) ?? ''),
    connectErrors: Number(socket?.[1] ?? 0),
    readErrors: Number(socket?.[2] ?? 0),
    writeErrors: Number(socket?.[3] ?? 0),
    timeouts: Number(socket?.[4] ?? 0),
    non2xx: Number(pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0),
  };
}

/** Run `wrk -t1 -cN -dS --latency url` pinned to `cpu`; one thread is plenty on loopback and leaves the other CPU alone. */
export async function runWrk(url: string, connections: number, seconds: number, cpu: number): Promise<WrkResult> {
  const out = await runPinned('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], cpu, (seconds + 30) * 1000);
  return parseWrk(out, connections, seconds);
}
