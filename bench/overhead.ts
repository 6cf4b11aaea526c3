/**
 * SPEC 9.1, overhead: the same load, at fixed concurrency, against one demo upstream directly
 * and through each forwarder, every forwarder a fresh child process pinned to its own CPU.
 */
import {
  bareUndici,
  baselineSwitchyard,
  direct,
  nodeHttpProxy,
  switchyard,
  switchyardAccessLog,
  switchyardMirrors,
  switchyardNoMetrics,
  type Forwarder,
} from './forwarders.js';
import type { LoadResult, LoadTask } from './load.js';
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import { ms, num, ratio, table, type Goal, type ScenarioReport } from './report.js';
import { median, type Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { startUpstreams } from './upstreams.js';

const FORWARDERS: Forwarder[] = [
  direct,
  switchyard,
  switchyardNoMetrics,
  switchyardAccessLog,
  ...switchyardMirrors,
  ...baselineSwitchyard(),
  bareUndici,
  nodeHttpProxy,
];
const GOAL_RPS = 'switchyard req/s ≥ 0.85× bare undici';
const GOAL_P99 = 'switchyard p99 ≤ 1.3× bare undici';
const GOAL_METRICS = 'metrics cost < 5%: CPU µs/req with metrics ≤ 1.05× without';

/** A forwarder's figures over all rounds, with the medians the table shows. */
interface Measured {
  runs: LoadResult[];
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Forwarder CPU µs per response over the measured window; null without a process or /proc. */
  cpuMicrosPerRequest: number | null;
  /** That CPU time over the window's wall time (1 = one core saturated). */
  cpuBusy: number | null;
}

/** Start `forwarder` in front of `upstream`, check it routes, load it, stop it. */
async function measure(forwarder: Forwarder, upstream: string, s: BenchSettings): Promise<LoadResult> {
  const running = await forwarder.start(upstream);
  try {
    await expectUpstream(running.url, 'blue');
    const task: LoadTask = {
      url: running.url,
      connections: s.connections,
      pipelining: 1,
      seconds: s.seconds,
      warmupSeconds: s.warmupSeconds,
      cpuPid: running.pid,
    };
    return await runTask<LoadResult>('load-process', task, CPU.load, (s.seconds + s.warmupSeconds) * 1000 + 30_000);
  } finally {
    await running.stop();
  }
}

/** CPU µs per response in one run, or null when it was not measured. */
function cpuPerRequest(r: LoadResult): number | null {
  return r.cpu !== null && r.cpu.responses > 0 ? r.cpu.cpuMicros / r.cpu.responses : null;
}

/** The median of the values that were measured, or null when none was. */
function medianOf(values: (number | null)[]): number | null {
  const measured = values.filter((v): v is number => v !== null);
  return measured.length > 0 ? median(measured) : null;
}

/** Medians over rounds (one round: its own figures). */
function summarise(runs: LoadResult[]): Measured {
  return {
    runs,
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuMicrosPerRequest: medianOf(runs.map(cpuPerRequest)),
    cpuBusy: medianOf(runs.map((r) => (r.cpu !== null && r.cpu.wallMicros > 0 ? r.cpu.cpuMicros / r.cpu.wallMicros : null))),
  };
}

/** Microseconds with one decimal, or "–" for none. */
function micros(value: number | null): string {
  return value === null ? '–' : value.toFixed(1);
}

/** Run every forwarder each round; a forwarder that fails once is not retried. */
async function measureAll(upstream: string, s: BenchSettings): Promise<{ runs: Map<string, LoadResult[]>; errors: Map<string, string> }> {
  const runs = new Map<string, LoadResult[]>();
  const errors = new Map<string, string>();
  for (let round = 1; round <= s.rounds; round++) {
    // Alternate the order so that slow drift in the machine's load does not favour one side.
    const order = round % 2 === 1 ? FORWARDERS : [...FORWARDERS].reverse();
    for (const f of order.filter((f) => !errors.has(f.id))) {
      process.stdout.write(`  overhead round ${round}/${s.rounds}: ${f.label} … `);
      try {
        const result = await measure(f, upstream, s);
        runs.set(f.id, [...(runs.get(f.id) ?? []), result]);
        const cpu = cpuPerRequest(result);
        console.log(`${num(result.reqPerSec)} req/s, p99 ${ms(result.p99Ms)} ms${cpu !== null ? `, ${micros(cpu)} CPU µs/req` : ''}`);
      } catch (err) {
        errors.set(f.id, err instanceof Error ? err.message : String(err));
        console.log(`failed: ${errors.get(f.id)}`);
      }
    }
  }
  return { runs, errors };
}

/** The results table, one row per forwarder. */
function resultsTable(measured: Map<string, Measured>): string[] {
  const rows = FORWARDERS.flatMap((f) => {
    const m = measured.get(f.id);
    if (m === undefined) return [];
    const sum = (k: 'errors' | 'timeouts' | 'non2xx'): string => num(m.runs.reduce((a, r) => a + r[k], 0));
    const rounds = m.runs.map((r) => num(r.reqPerSec)).join(' / ');
    const cpuRounds = m.cpuMicrosPerRequest === null ? '–' : m.runs.map((r) => micros(cpuPerRequest(r))).join(' / ');
    const busy = m.cpuBusy === null ? '–' : `${Math.round(m.cpuBusy * 100)}%`;
    return [
      [
        f.label,
        num(m.reqPerSec),
        ms(m.p50Ms),
        ms(m.p99Ms),
        micros(m.cpuMicrosPerRequest),
        busy,
        sum('errors'),
        sum('timeouts'),
        sum('non2xx'),
        rounds,
        cpuRounds,
      ],
    ];
  });
  const headers = [
    'forwarder',
    'req/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'CPU busy',
    'errors',
    'timeouts',
    'non-2xx',
    'req/s by round',
    'CPU µs/req by round',
  ];
  return table(headers, rows);
}

/** switchyard's ratios to each other run, and the two goals against bare undici. */
function ratios(measured: Map<string, Measured>): { lines: string[]; goals: Goal[]; data: Record<string, unknown> } {
  const sy = measured.get(switchyard.id);
  const ref = measured.get(bareUndici.id);
  if (sy === undefined) {
    return { lines: [], goals: [GOAL_RPS, GOAL_P99, GOAL_METRICS].map((text) => ({ text, actual: 'not run', met: false })), data: {} };
  }
  const data: Record<string, unknown> = {};
  const rows = FORWARDERS.flatMap((f) => {
    const other = f === switchyard ? undefined : measured.get(f.id);
    if (other === undefined) return [];
    const cpu = sy.cpuMicrosPerRequest !== null && other.cpuMicrosPerRequest !== null ? sy.cpuMicrosPerRequest / other.cpuMicrosPerRequest : null;
    const r = { reqPerSec: sy.reqPerSec / other.reqPerSec, p99: sy.p99Ms / other.p99Ms, cpuMicrosPerRequest: cpu };
    data[f.id] = r;
    const goal = f === bareUndici ? 'req/s ≥ 0.85×, p99 ≤ 1.3×' : f === switchyardNoMetrics ? 'CPU µs/req ≤ 1.05×' : '';
    return [[f.label, ratio(r.reqPerSec), ratio(r.p99), cpu === null ? '–' : ratio(cpu), goal]];
  });
  const rps = ref ? sy.reqPerSec / ref.reqPerSec : NaN;
  const p99 = ref ? sy.p99Ms / ref.p99Ms : NaN;
  const off = measured.get(switchyardNoMetrics.id);
  const cost = off && sy.cpuMicrosPerRequest !== null && off.cpuMicrosPerRequest !== null ? sy.cpuMicrosPerRequest / off.cpuMicrosPerRequest : NaN;
  const goals: Goal[] = [
    { text: GOAL_RPS, actual: ref ? ratio(rps) : 'reference not run', met: rps >= 0.85 },
    { text: GOAL_P99, actual: ref ? ratio(p99) : 'reference not run', met: p99 <= 1.3 },
    { text: GOAL_METRICS, actual: Number.isNaN(cost) ? 'not measured' : ratio(cost), met: cost <= 1.05 },
  ];
  return { lines: ['', ...table(['switchyard vs', 'req/s ratio', 'p99 ratio', 'CPU µs/req ratio', 'goal'], rows)], goals, data };
}

/** What the figures are, and why CPU per request is there. */
function notes(measured: Map<string, Measured>): string[] {
  const cpuMeasured = [...measured.values()].some((m) => m.cpuMicrosPerRequest !== null);
  return [
    "Figures are medians over rounds. Latency percentiles at µs resolution (per-response histogram); req/s is autocannon's per-second average.",
    cpuMeasured
      ? "CPU µs/req: the forwarder process's user + system CPU time (/proc/PID/stat, all threads) over the measured window, divided by the responses in that same window; lower is better. " +
        'It depends far less than req/s on how fast the load generator and upstream (sharing the other CPU) keep up, so its ratio is the steadier efficiency figure; ' +
        'not entirely, though: a forwarder that is not saturated handles fewer requests per wake-up and pays more per request, so compare rows with a similar CPU busy. ' +
        "CPU busy: that CPU time over the window's wall time (100% = one core saturated)."
      : 'CPU µs/req not measured: /proc/PID/stat cannot be read on this machine.',
  ];
}

/** The overhead scenario. */
export const overhead: Scenario = {
  id: 'overhead',
  title: 'Overhead (SPEC 9.1)',
  goals: [GOAL_RPS, GOAL_P99, GOAL_METRICS],
  async run(s) {
    const upstreams = await startUpstreams(['blue']);
    const { runs, errors } = await measureAll(upstreams.addresses[0], s).finally(() => upstreams.stop());
    const measured = new Map([...runs].map(([id, list]) => [id, summarise(list)]));
    const { lines, goals, data } = ratios(measured);
    const failed = [...errors].map(([id, message]) => `${id}: ${message}`);
    const report: ScenarioReport = {
      id: 'overhead',
      title: this.title,
      lines: [...resultsTable(measured), ...lines, '', ...notes(measured)],
      goals,
      data: { forwarders: Object.fromEntries(measured), ratios: data, errors: Object.fromEntries(errors) },
      error: failed.length > 0 ? failed.join('; ') : undefined,
    };
    return report;
  },
};
