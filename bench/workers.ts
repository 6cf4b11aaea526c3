/**
 * Workers 1 vs N: the same wrk load (50 connections, on the load CPU) through switchyard as
 * one process pinned to the forwarder CPU, as one process free to use both CPUs, and with 2
 * workers on both CPUs, under each way of sharing the listener. On this 2-core machine the
 * load generator and the origin share the second core with the second worker: what N=2
 * gives here is what is left of that core, reported as it is.
 */
import { defaultDistribution } from '../src/cluster/workers.js';
import { clockTicks, startCpuWindow } from './cpu-time.js';
import { startOrigin } from './origin.js';
import { expectUpstream } from './probe.js';
import { CPU } from './processes.js';
import { ms, num, ratio, table, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import { startSwitchyard } from './switchyard.js';
import { hasWrk, runWrk, type WrkResult } from './wrk.js';

const CONNECTIONS = 50;
const BOTH = `${CPU.forwarder},${CPU.load}`;

interface Variant {
  id: string;
  label: string;
  workers: number;
  cpus: string;
  distribution?: 'cluster' | 'reuseport';
}

/** Where reusePort is missing (before Node 22.12), only node:cluster's distribution runs. */
function variants(): Variant[] {
  const reuse = defaultDistribution() === 'reuseport';
  return [
    { id: 'one-pinned', label: '1 process, CPU 0', workers: 1, cpus: String(CPU.forwarder) },
    { id: 'one-free', label: '1 process, CPUs 0-1', workers: 1, cpus: BOTH },
    { id: 'two-cluster', label: '2 workers, node:cluster distribution', workers: 2, cpus: BOTH, distribution: 'cluster' },
    ...(reuse ? [{ id: 'two-reuseport', label: '2 workers, reuseport', workers: 2, cpus: BOTH, distribution: 'reuseport' as const }] : []),
  ];
}

interface Measured {
  variant: Variant;
  result: WrkResult;
  /** CPU µs per request of each process: the primary first (with workers), then each worker. */
  cpuMicrosPerRequest: number[];
}

async function measure(v: Variant, origin: string, seconds: number, warmup: number): Promise<Measured> {
  const sy = await startSwitchyard('blue', { blue: [origin] }, { workers: v.workers, cpus: v.cpus, distribution: v.distribution });
  try {
    await expectUpstream(sy.proxyUrl, 'blue');
    await runWrk(`${sy.proxyUrl}/`, CONNECTIONS, warmup, CPU.load);
    const ticks = clockTicks();
    const pids = await sy.pids();
    const windows = pids.map((pid) => startCpuWindow(pid, ticks));
    const result = await runWrk(`${sy.proxyUrl}/`, CONNECTIONS, seconds, CPU.load);
    const cpu = windows.map((w) => w.end(result.requests)).map((c) => (c && c.responses > 0 ? c.cpuMicros / c.responses : 0));
    return { variant: v, result, cpuMicrosPerRequest: cpu };
  } finally {
    await sy.stop();
  }
}

export const workers: Scenario = {
  id: 'workers',
  title: 'Workers: 1 process vs 2 workers',
  goals: [],
  async run(s): Promise<ScenarioReport> {
    if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk)');
    const origin = await startOrigin();
    try {
      const runs: Measured[] = [];
      for (const v of variants()) runs.push(await measure(v, origin.address, s.seconds, s.warmupSeconds));
      const base = runs[0].result.reqPerSec;
      const rows = runs.map((m) => {
        const cpu = m.cpuMicrosPerRequest;
        const perProcess =
          m.variant.workers > 1
            ? `primary ${cpu[0].toFixed(1)}; workers ${cpu
                .slice(1)
                .map((c) => c.toFixed(1))
                .join(', ')}`
            : cpu[0].toFixed(1);
        return [
          m.variant.label,
          num(m.result.reqPerSec),
          ratio(m.result.reqPerSec / base),
          ms(m.result.p50Ms),
          ms(m.result.p99Ms),
          perProcess,
          cpu.reduce((a, b) => a + b, 0).toFixed(1),
        ];
      });
      const lines = [
        ...table(['switchyard', 'req/s', 'vs 1 process on CPU 0', 'p50 ms', 'p99 ms', 'CPU µs per request, by process', 'CPU µs per request, all'], rows),
        '',
        `wrk -t1 -c${CONNECTIONS} on CPU ${CPU.load} for ${s.seconds} s after ${s.warmupSeconds} s of warm-up; origin: ${origin.kind} on CPU ${CPU.load}. CPU time from /proc/PID/stat over the measured window, divided by the requests wrk completed. Without workers one process does everything; with workers the primary only answers the admin API, health checks and the workers' reports, and the workers forward.`,
      ];
      return { id: 'workers', title: this.title, lines, goals: [], data: runs };
    } finally {
      await origin.stop();
    }
  },
};
