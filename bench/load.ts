import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { clockTicks, startCpuWindow, type CpuWindow } from './cpu-time.js';

/** One load run: autocannon at fixed concurrency after a warm-up. */
export interface LoadTask {
  url: string;
  connections: number;
  pipelining: number;
  seconds: number;
  warmupSeconds: number;
  /** A process (the forwarder) whose CPU time to measure over the measured window. */
  cpuPid?: number;
  /** Stop after this many requests (then `seconds` is only a bound). */
  amount?: number;
}

/** What one load run measured (latencies in milliseconds). */
export interface LoadResult {
  reqPerSec: number;
  totalRequests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  seconds: number;
  /** `cpuPid`'s CPU time over the measured window; null when not asked for or /proc is missing. */
  cpu: CpuWindow | null;
}

/**
 * Run autocannon against `task.url`. Its own latency histogram has 1 ms resolution, too coarse
 * for sub-millisecond hops on loopback, so latencies are also recorded per response in a
 * microsecond histogram (node's native one, cheap enough not to skew the load generator).
 */
export async function runLoad(task: LoadTask): Promise<LoadResult> {
  const micros = createHistogram();
  const ticks = task.cpuPid !== undefined ? clockTicks() : 0;
  const instance = autocannon({
    url: task.url,
    connections: task.connections,
    pipelining: task.pipelining,
    duration: task.seconds,
    ...(task.amount !== undefined ? { amount: task.amount } : {}),
    timeout: 10,
    warmup: task.warmupSeconds > 0 ? { connections: task.connections, duration: task.warmupSeconds } : undefined,
  });
  // The warm-up runs on its own tracker, so only measured responses arrive here, and this
  // tracker's 'start' and 'done' bound the measured window (fresh connections open after 'start').
  let responses = 0;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    responses++;
    micros.record(Math.max(1, Math.round(ms * 1000)));
  });
  let cpu: CpuWindow | null = null;
  if (task.cpuPid !== undefined) {
    const pid = task.cpuPid;
    let window: ReturnType<typeof startCpuWindow> | undefined;
    instance.once('start', () => void (window = startCpuWindow(pid, ticks)));
    instance.once('done', () => void (cpu = window?.end(responses) ?? null));
  }
  const result = await instance;
  return {
    reqPerSec: result.requests.average,
    totalRequests: result.requests.total,
    p50Ms: micros.percentile(50) / 1000,
    p90Ms: micros.percentile(90) / 1000,
    p99Ms: micros.percentile(99) / 1000,
    maxMs: micros.max / 1000,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    seconds: result.duration,
    cpu,
  };
}
