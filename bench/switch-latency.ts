/**
 * SPEC 9.2, switch latency under load: switchyard in front of blue and green pairs, a client
 * logging every request's send time and answering colour, an instant switch to green under
 * load and one back to blue; the question is how fast and how cleanly each takes effect.
 */
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import { ms, num, ratio, table, type Goal, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { analyseRun, type SwitchSummary } from './switch-analysis.js';
import type { SwitchRun, SwitchTask } from './switch-process.js';
import { SERVICE, startSwitchyard } from './switchyard.js';
import { startUpstreams } from './upstreams.js';

const LOOPS = 32;
const MAX_REQUESTS = 500_000;
const WINDOW_MS = 500;
const WARMUP_MS = 1000;
const HOSTS = ['green', 'blue'];
const GOAL_LATE = (from: string, to: string): string => `${from} → ${to}: no ${from} answer to a request sent after the call returned`;
const GOAL_CLEAN = 'switch run: no errors, no non-2xx';

/** Start the blue/green pairs and switchyard, run the switch client, stop everything. */
async function runSwitches(s: BenchSettings): Promise<SwitchRun> {
  const upstreams = await startUpstreams(['blue', 'blue', 'green', 'green']);
  try {
    const [b1, b2, g1, g2] = upstreams.addresses;
    const sy = await startSwitchyard('blue', { blue: [b1, b2], green: [g1, g2] });
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
      };
      return await runTask<SwitchRun>('switch-process', task, CPU.load, 4 * phaseMs + 60_000);
    } finally {
      await sy.stop();
    }
  } finally {
    await upstreams.stop();
  }
}

/** Fail the scenario when a switch was refused: there is nothing to measure then. */
function assertSwitched(run: SwitchRun): void {
  for (const call of run.calls) {
    if (call.status !== 200) throw new Error(`PATCH /services/${SERVICE} {"host":"${call.to}"} answered ${call.status}: ${call.body.slice(0, 300)}`);
  }
  if (run.calls.length !== HOSTS.length) throw new Error(`only ${run.calls.length} of ${HOSTS.length} switches were made`);
}

/** An event-loop delay figure, or a dash when metrics were off. */
function eld(value: number | undefined): string {
  return value === undefined ? '–' : ms(value);
}

/** The section's tables and notes. */
function lines(sum: SwitchSummary, calls: SwitchRun['calls']): string[] {
  const rows = sum.switches.map((w) => [
    `${w.from} → ${w.to}`,
    ms(w.adminMs),
    num(w.lateOldAnswers),
    ms(w.lastLateAfterReturnMs),
    ms(w.drainAfterStartMs),
    ms(w.p99WindowMs),
    ms(sum.p99BeforeMs),
    ratio(w.p99WindowMs / sum.p99BeforeMs),
  ]);
  const headers = [
    'switch',
    'admin call ms',
    'old colour after return',
    'last one, ms after return',
    'last old answer, ms after call start',
    `p99 ±${WINDOW_MS} ms`,
    'p99 before',
    'during / before',
  ];
  const errors = Object.entries(sum.errorMessages).map(([m, n]) => `- ${n} × ${m}`);
  const colours = Object.entries(sum.answersByColour)
    .map(([c, n]) => `${c} ${num(n)}`)
    .join(', ');
  const stall = sum.switches.map((w, i) => [
    `${w.from} → ${w.to}`,
    w.firstNewAfterAckMs === null ? '–' : ms(w.firstNewAfterAckMs),
    `${ms(w.longestPauseMs)} (${ratio(w.longestPauseMs / sum.p99BeforeMs)} p99)`,
    ratio(w.slowestWindowRatio),
    eld(calls[i]?.eventLoopDelayMaxMs),
    eld(calls[i]?.eventLoopDelayBeforeMs),
  ]);
  return [
    ...table(headers, rows),
    '',
    ...table(
      [
        'switch',
        'first new colour after ack ms',
        'longest pause in responses ms',
        'slowest 100 ms / rate before',
        'event-loop delay max ms, switch',
        'same, plain load',
      ],
      stall,
    ),
    '',
    "Stall figures: the first answer from the new colour to a request sent after the call returned; the longest time with no response completing from the call to 500 ms after it; the fewest responses in any 100 ms of the second after the call over the mean per 100 ms before the first switch; switchyard's own event-loop delay (prom-client's monitorEventLoopDelay, 10 ms resolution) from just before the call to 100 ms after it, and over as long a stretch of plain load just before.",
    '',
    `${num(sum.requests)} requests by ${LOOPS} loops (${num(sum.reqPerSec)} req/s): ${num(sum.errors)} errors, ${num(sum.non2xx)} non-2xx; answers by colour: ${colours}.`,
    `Before the first switch: p50 ${ms(sum.p50BeforeMs)} ms, p99 ${ms(sum.p99BeforeMs)} ms.`,
    '"Old colour after return" counts answers from the old colour to requests sent after the admin call returned; "last old answer" includes requests that were in flight during the call.',
    ...errors,
  ];
}

/** The goals: no late old-colour answers per switch, and a clean run. */
function goals(sum: SwitchSummary): Goal[] {
  // Zero late answers only counts if the new colour did answer: a proxy that drops the
  // x-upstream header, or a switch that never took, must not pass by default.
  const late = sum.switches.map((w) => ({
    text: GOAL_LATE(w.from, w.to),
    actual: w.newAnswersAfterReturn > 0 ? num(w.lateOldAnswers) : `${num(w.lateOldAnswers)}, but no ${w.to} answers`,
    met: w.lateOldAnswers === 0 && w.newAnswersAfterReturn > 0,
  }));
  const clean = { text: GOAL_CLEAN, actual: `${num(sum.errors)} errors, ${num(sum.non2xx)} non-2xx`, met: sum.errors === 0 && sum.non2xx === 0 };
  return [...late, clean];
}

/** The switch-latency scenario. */
export const switchLatency: Scenario = {
  id: 'switch-latency',
  title: 'Switch latency under load (SPEC 9.2)',
  goals: [GOAL_LATE('blue', 'green'), GOAL_LATE('green', 'blue'), GOAL_CLEAN],
  async run(s): Promise<ScenarioReport> {
    const run = await runSwitches(s);
    assertSwitched(run);
    const summary = analyseRun(run, { initialHost: 'blue', windowMs: WINDOW_MS });
    return {
      id: 'switch-latency',
      title: 'Switch latency under load (SPEC 9.2)',
      lines: lines(summary, run.calls),
      goals: goals(summary),
      data: { summary, calls: run.calls },
    };
  },
};
