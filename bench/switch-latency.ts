/**
 * SPEC 9.2, switch latency under load: switchyard in front of blue and green pairs, a client
 * logging every request's send time and answering colour, instant switches under load (green,
 * blue, green, blue); the question is how fast and how cleanly each takes effect, and whether
 * the switch stalls the proxy. Run twice in one go: one process pinned to the forwarder CPU,
 * and `--workers 2` on both CPUs (sharing the load generator's).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoopDelay } from './loop-probe.js';
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import { ms, num, ratio, table, type Goal, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { analyseRun, percentile, type SwitchSummary } from './switch-analysis.js';
import type { SwitchCall, SwitchRun, SwitchTask } from './switch-process.js';
import { SERVICE, startSwitchyard } from './switchyard.js';
import { startUpstreams } from './upstreams.js';

const LOOPS = 32;
const MAX_REQUESTS = 1_000_000;
const WINDOW_MS = 500;
const WARMUP_MS = 1000;
const HOSTS = ['green', 'blue', 'green', 'blue'];

/** How switchyard runs in a variant. */
interface Variant {
  readonly id: string;
  readonly label: string;
  readonly workers: number;
  readonly cpus: string;
}
const VARIANTS: Variant[] = [
  { id: 'one', label: '1 process (CPU 0)', workers: 1, cpus: String(CPU.forwarder) },
  { id: 'two', label: '2 workers (CPUs 0-1)', workers: 2, cpus: `${CPU.forwarder},${CPU.load}` },
];

const GOALS = {
  late: (v: Variant) => `${v.label}: no old-colour answer to a request sent after the ack`,
  clean: (v: Variant) => `${v.label}: no errors, no non-2xx`,
  admin: (v: Variant) => `${v.label}: admin call p50 ≤ 5 ms server-side`,
  first: (v: Variant) => `${v.label}: first new-colour answer ≤ 5 ms after the ack`,
  pause: (v: Variant) => `${v.label}: longest pause in responses ≤ 1.5× the p99 before`,
  slowest: (v: Variant) => `${v.label}: slowest 100 ms after a switch ≥ 0.8× the rate before`,
  spread: "workers: spread of the workers' apply times ≤ 5 ms",
};

/** Start the blue/green pairs and switchyard, run the switch client, stop everything. */
async function runSwitches(s: BenchSettings, v: Variant): Promise<SwitchRun> {
  const upstreams = await startUpstreams(['blue', 'blue', 'green', 'green']);
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-loop-'));
  try {
    const [b1, b2, g1, g2] = upstreams.addresses;
    const sy = await startSwitchyard('blue', { blue: [b1, b2], green: [g1, g2] }, { workers: v.workers, cpus: v.cpus, loopProbeDir: probeDir });
    try {
      await expectUpstream(sy.proxyUrl, 'blue');
      const phaseMs = s.switchPhaseSeconds * 1000;
      const task: SwitchTask = {
        proxyUrl: sy.proxyUrl,
        adminUrl: sy.adminUrl,
        service: SERVICE,
        loops: LOOPS,
        maxRequests: MAX_REQUESTS,
        warmupMs: WARMUP_MS,
        beforeMs: phaseMs,
        holdMs: phaseMs,
        afterMs: phaseMs,
        hosts: HOSTS,
        probeDir,
        pids: await sy.pids(),
      };
      return await runTask<SwitchRun>('switch-process', task, CPU.load, (HOSTS.length + 2) * phaseMs + 60_000);
    } finally {
      await sy.stop();
    }
  } finally {
    await upstreams.stop();
    fs.rmSync(probeDir, { recursive: true, force: true });
  }
}

/** Fail the scenario when a switch was refused: there is nothing to measure then. */
function assertSwitched(run: SwitchRun): void {
  for (const call of run.calls) {
    if (call.status !== 200) throw new Error(`PATCH /services/${SERVICE} {"host":"${call.to}"} answered ${call.status}: ${call.body.slice(0, 300)}`);
  }
  if (run.calls.length !== HOSTS.length) throw new Error(`only ${run.calls.length} of ${HOSTS.length} switches were made`);
}

/** The proxy's processes' loop delays: the workers' with workers (the primary serves no requests), else the one process's. */
function proxyLoops(delays: LoopDelay[], workers: number): LoopDelay[] {
  return workers > 1 ? delays.slice(1) : delays;
}

/** The longest delay in a set of processes, or null when none answered. */
function maxDelay(delays: LoopDelay[]): number | null {
  return delays.length > 0 ? Math.max(...delays.map((d) => d.maxMs)) : null;
}

/** One variant's figures. */
interface VariantRun {
  variant: Variant;
  summary: SwitchSummary;
  calls: SwitchCall[];
}

/** Per-switch rows of one variant. */
function switchRows(r: VariantRun): string[][] {
  const { summary: sum, calls, variant } = r;
  return sum.switches.map((w, i) => {
    const c = calls[i];
    return [
      `${variant.workers}: ${w.from} → ${w.to}`,
      ms(c.serverMs ?? null),
      ms(w.adminMs),
      num(w.lateOldAnswers),
      w.firstNewAfterAckMs === null ? '–' : ms(w.firstNewAfterAckMs),
      `${ms(w.longestPauseMs)} (${ratio(w.longestPauseMs / sum.p99BeforeMs)})`,
      ratio(w.slowestWindowRatio),
      `${ms(maxDelay(proxyLoops(c.loopSwitch, variant.workers)))} / ${ms(maxDelay(proxyLoops(c.loopPlain, variant.workers)))}`,
      variant.workers > 1 ? `${ms(maxDelay(c.loopSwitch.slice(0, 1)))}` : '–',
      c.spreadMs === undefined ? '–' : ms(c.spreadMs),
    ];
  });
}

/** The section's tables and notes. */
function lines(runs: VariantRun[]): string[] {
  const headers = [
    'workers: switch',
    'admin ms (server)',
    'admin ms (client)',
    'old colour after ack',
    'first new colour after ack ms',
    'longest pause ms (× p99 before)',
    'slowest 100 ms / rate before',
    'proxy loop delay max ms: switch / plain',
    'primary loop delay max ms',
    'workers apply spread ms',
  ];
  const out = [...table(headers, runs.flatMap(switchRows)), ''];
  for (const r of runs) {
    const sum = r.summary;
    const colours = Object.entries(sum.answersByColour)
      .map(([c, n]) => `${c} ${num(n)}`)
      .join(', ');
    out.push(
      `- ${r.variant.label}: ${num(sum.requests)} requests by ${LOOPS} loops (${num(sum.reqPerSec)} req/s), ${num(sum.errors)} errors, ${num(sum.non2xx)} non-2xx; by colour ${colours}; before the first switch p50 ${ms(sum.p50BeforeMs)} ms, p99 ${ms(sum.p99BeforeMs)} ms.`,
    );
    for (const [m, n] of Object.entries(sum.errorMessages)) out.push(`  - ${n} × ${m}`);
  }
  out.push(
    '',
    "Admin ms (server) is the Server-Timing switchyard put on its answer: from the request’s arrival to the answer, the durable write and every worker's confirmation included. ‘old colour after ack’ counts answers from the old colour to requests sent after the call returned. The first new-colour answer is timed from the ack. The longest pause is the longest time with no response completing, from the call to 500 ms after it; the slowest 100 ms compares the fewest responses in any 100 ms of the second after the call with the mean before the first switch. Loop delays come from a 1 ms-resolution perf_hooks.monitorEventLoopDelay preloaded into each switchyard process by the bench (bench/loop-probe.ts), from just before the call to 100 ms after it, beside as long a stretch of plain load just before; under saturating load a busy loop always shows a few ms. The spread is the gap between the first and the last worker starting to serve the change (GET /status last_change).",
  );
  return out;
}

/** The goals of one variant. */
function goals(r: VariantRun): Goal[] {
  const { summary: sum, calls, variant: v } = r;
  const sw = sum.switches;
  const late = sw.reduce((n, w) => n + w.lateOldAnswers, 0);
  const tookEffect = sw.every((w) => w.newAnswersAfterReturn > 0);
  const server = calls.map((c) => c.serverMs ?? Number.POSITIVE_INFINITY);
  const firsts = sw.map((w) => w.firstNewAfterAckMs ?? Number.POSITIVE_INFINITY);
  const pause = Math.max(...sw.map((w) => w.longestPauseMs)) / sum.p99BeforeMs;
  const slowest = Math.min(...sw.map((w) => w.slowestWindowRatio));
  const out: Goal[] = [
    { text: GOALS.late(v), actual: tookEffect ? num(late) : `${num(late)}, but a switch never took`, met: late === 0 && tookEffect },
    { text: GOALS.clean(v), actual: `${num(sum.errors)} errors, ${num(sum.non2xx)} non-2xx`, met: sum.errors === 0 && sum.non2xx === 0 },
    { text: GOALS.admin(v), actual: `${ms(percentile(server, 0.5))} ms`, met: percentile(server, 0.5) <= 5 },
    { text: GOALS.first(v), actual: `max ${ms(Math.max(...firsts))} ms`, met: Math.max(...firsts) <= 5 },
    { text: GOALS.pause(v), actual: `${ratio(pause)}`, met: pause <= 1.5 },
    { text: GOALS.slowest(v), actual: ratio(slowest), met: slowest >= 0.8 },
  ];
  if (v.workers > 1) {
    const spread = Math.max(...calls.map((c) => c.spreadMs ?? Number.POSITIVE_INFINITY));
    out.push({ text: GOALS.spread, actual: `max ${ms(spread)} ms`, met: spread <= 5 });
  }
  return out;
}

/** The switch-latency scenario. */
export const switchLatency: Scenario = {
  id: 'switch-latency',
  title: 'Switch latency and stall under load, 1 process and 2 workers (SPEC 9.2)',
  goals: [...VARIANTS.flatMap((v) => [GOALS.late(v), GOALS.clean(v), GOALS.admin(v), GOALS.first(v), GOALS.pause(v), GOALS.slowest(v)]), GOALS.spread],
  async run(s): Promise<ScenarioReport> {
    const runs: VariantRun[] = [];
    for (const variant of VARIANTS) {
      const run = await runSwitches(s, variant);
      assertSwitched(run);
      runs.push({ variant, summary: analyseRun(run, { initialHost: 'blue', windowMs: WINDOW_MS }), calls: run.calls });
    }
    return {
      id: 'switch-latency',
      title: this.title,
      lines: lines(runs),
      goals: runs.flatMap(goals),
      data: runs.map((r) => ({ variant: r.variant, summary: r.summary, calls: r.calls })),
    };
  },
};
