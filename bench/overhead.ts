/**
 * SPEC 9.1, overhead: the same load, at fixed concurrency, against one demo upstream directly
 * and through each forwarder, every forwarder a fresh child process pinned to its own CPU.
 */
import { bareUndici, direct, nodeHttpProxy, switchyard, type Forwarder } from './forwarders.js';
import type { LoadResult, LoadTask } from './load.js';
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import { ms, num, ratio, table, type Goal, type ScenarioReport } from './report.js';
import { median, type Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { startUpstreams } from './upstreams.js';

const FORWARDERS: Forwarder[] = [direct, switchyard, bareUndici, nodeHttpProxy];
const GOAL_RPS = 'switchyard req/s ≥ 0.85× bare undici';
const GOAL_P99 = 'switchyard p99 ≤ 1.3× bare undici';

/** A forwarder's figures over all rounds, with the medians the table shows. */
interface Measured {
  runs: LoadResult[];
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Start `forwarder` in front of `upstream`, check it routes, load it, stop it. */
async function measure(forwarder: Forwarder, upstream: string, s: BenchSettings): Promise<LoadResult> {
  const running = await forwarder.start(upstream);
  try {
    await expectUpstream(running.url, 'blue');
    const task: LoadTask = { url: running.url, connections: s.connections, pipelining: 1, seconds: s.seconds, warmupSeconds: s.warmupSeconds };
    return await runTask<LoadResult>('load-process', task, CPU.load, (s.seconds + s.warmupSeconds) * 1000 + 30_000);
  } finally {
    await running.stop();
  }
}

/** Medians over rounds (one round: its own figures). */
function summarise(runs: LoadResult[]): Measured {
  return {
    runs,
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
  };
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
        console.log(`${num(result.reqPerSec)} req/s, p99 ${ms(result.p99Ms)} ms`);
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
  const rows = FORWARDERS.filter((f) => measured.has(f.id)).map((f) => {
    const m = measured.get(f.id)!;
    const sum = (k: 'errors' | 'timeouts' | 'non2xx'): string => num(m.runs.reduce((a, r) => a + r[k], 0));
    const rounds = m.runs.map((r) => num(r.reqPerSec)).join(' / ');
    return [f.label, num(m.reqPerSec), ms(m.p50Ms), ms(m.p99Ms), sum('errors'), sum('timeouts'), sum('non2xx'), rounds];
  });
  return table(['forwarder', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts', 'non-2xx', 'req/s by round'], rows);
}

/** switchyard's ratios to each other run, and the two goals against bare undici. */
function ratios(measured: Map<string, Measured>): { lines: string[]; goals: Goal[]; data: Record<string, unknown> } {
  const sy = measured.get(switchyard.id);
  const ref = measured.get(bareUndici.id);
  if (sy === undefined) {
    return { lines: [], goals: [GOAL_RPS, GOAL_P99].map((text) => ({ text, actual: 'not run', met: false })), data: {} };
  }
  const data: Record<string, unknown> = {};
  const rows = FORWARDERS.filter((f) => f !== switchyard && measured.has(f.id)).map((f) => {
    const other = measured.get(f.id)!;
    const r = { reqPerSec: sy.reqPerSec / other.reqPerSec, p99: sy.p99Ms / other.p99Ms };
    data[f.id] = r;
    const goal = f === bareUndici ? 'req/s ≥ 0.85×, p99 ≤ 1.3×' : '';
    return [f.label, ratio(r.reqPerSec), ratio(r.p99), goal];
  });
  const rps = ref ? sy.reqPerSec / ref.reqPerSec : NaN;
  const p99 = ref ? sy.p99Ms / ref.p99Ms : NaN;
  const goals: Goal[] = [
    { text: GOAL_RPS, actual: ref ? ratio(rps) : 'reference not run', met: rps >= 0.85 },
    { text: GOAL_P99, actual: ref ? ratio(p99) : 'reference not run', met: p99 <= 1.3 },
  ];
  return { lines: ['', ...table(['switchyard vs', 'req/s ratio', 'p99 ratio', 'goal'], rows)], goals, data };
}

/** The overhead scenario. */
export const overhead: Scenario = {
  id: 'overhead',
  title: 'Overhead (SPEC 9.1)',
  goals: [GOAL_RPS, GOAL_P99],
  async run(s) {
    const upstreams = await startUpstreams(['blue']);
    const { runs, errors } = await measureAll(upstreams.addresses[0], s).finally(() => upstreams.stop());
    const measured = new Map([...runs].map(([id, list]) => [id, summarise(list)]));
    const { lines, goals, data } = ratios(measured);
    const failed = [...errors].map(([id, message]) => `${id}: ${message}`);
    const report: ScenarioReport = {
      id: 'overhead',
      title: this.title,
      lines: [...resultsTable(measured), ...lines, '', 'Figures are medians over rounds. Latency percentiles at µs resolution (per-response histogram); req/s is autocannon\'s per-second average.'],
      goals,
      data: { forwarders: Object.fromEntries(measured), ratios: data, errors: Object.fromEntries(errors) },
      error: failed.length > 0 ? failed.join('; ') : undefined,
    };
    return report;
  },
};
