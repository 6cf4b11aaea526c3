import { spawnSync } from 'node:child_process';
import { runPinned } from './processes.js';

/** What one h2load run measured. */
export interface H2loadResult {
  reqPerSec: number;
  requests: number;
  succeeded: number;
  failed: number;
  /** Mean time per request, milliseconds (h2load gives no percentiles). */
  meanMs: number;
}

/** True when h2load is installed (`apt-get install nghttp2-client`). */
export function hasH2load(): boolean {
  return spawnSync('h2load', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** "1.23ms", "456us", "2.01s" → milliseconds. */
function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : n * 1000;
}

/** Parse h2load's report. */
export function parseH2load(text: string): H2loadResult {
  const pick = (re: RegExp): string | undefined => re.exec(text)?.[1];
  const counts = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(text);
  return {
    reqPerSec: Number(pick(/finished in [\d.]+\w+, ([\d.]+) req\/s/) ?? 0),
    requests: Number(counts?.[1] ?? 0),
    succeeded: Number(counts?.[2] ?? 0),
    failed: Number(counts?.[3] ?? 0),
    meanMs: toMs(pick(/time for request:\s+\S+\s+\S+\s+(\S+)/) ?? ''),
  };
}

/**
 * `h2load -c clients -m streams -D seconds --warm-up-time warmup url` pinned to `cpu`: HTTP/2
 * with prior knowledge on an http:// URL, `streams` requests in flight per connection.
 */
export async function runH2load(url: string, clients: number, streams: number, seconds: number, warmup: number, cpu: number): Promise<H2loadResult> {
  const args = [`-c${clients}`, `-m${streams}`, `-D${seconds}`, `--warm-up-time=${warmup}`, url];
  return parseH2load(await runPinned('h2load', args, cpu, (seconds + warmup + 30) * 1000));
}
