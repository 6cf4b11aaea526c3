/**
 * SPEC 5, health checks under load: switchyard in front of two blue targets, each in its own
 * process, with active and passive checks; one target's process is SIGKILLed mid-load. The
 * questions: how many requests fail (with and without retries), and how soon is it ejected.
 */
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import { ms, num, table, type Goal, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { analyseKill, type KillFigures } from './target-kill-analysis.js';
import type { TargetKillRun, TargetKillTask } from './target-kill-process.js';
import { startSwitchyard } from './switchyard.js';
import { startUpstreams, type UpstreamGroup } from './upstreams.js';

const UPSTREAM = 'blue';
const RETRIES = [5, 0];
const LOOPS = 32;
const MAX_REQUESTS = 300_000;
const WARMUP_MS = 1000;
const BEFORE_MS = 2000;
const AFTER_MS = 3000;
const POLL_MS = 20;
/** The second target is killed. */
const VICTIM = 1;
/** Active TCP probes every 0.5 s (2 failures eject); passively, one failed connection ejects. */
const HEALTHCHECKS = {
  active: { type: 'tcp', healthy: { interval: 0.5 }, unhealthy: { interval: 0.5, tcp_failures: 2 } },
  passive: { unhealthy: { tcp_failures: 1, timeouts: 1 } },
};
const GOAL = 'target kill, retries 5: no failed request after the kill';

/** One run's outcome: its figures, or why it could not run. */
type Outcome = { retries: number; figures: KillFigures; run: TargetKillRun } | { retries: number; error: string };

/** Start one target per process and switchyard with `retries`, run the kill client, stop all. */
async function runKill(retries: number): Promise<{ figures: KillFigures; run: TargetKillRun }> {
  const groups: UpstreamGroup[] = [];
  try {
    // One child per target, so killing one process takes down exactly one target.
    for (let i = 0; i < 2; i++) groups.push(await startUpstreams([UPSTREAM]));
    const targets = groups.map((g) => g.addresses[0]);
    const victimPid = groups[VICTIM].pid;
    if (victimPid === undefined) throw new Error('the target to kill has no process id');
    const sy = await startSwitchyard(UPSTREAM, { [UPSTREAM]: targets }, { retries, healthchecks: { [UPSTREAM]: HEALTHCHECKS } });
    try {
      await expectUpstream(sy.proxyUrl, UPSTREAM);
      const task: TargetKillTask = {
        proxyUrl: sy.proxyUrl,
        adminUrl: sy.adminUrl,
        upstream: UPSTREAM,
        targets,
        victim: VICTIM,
        victimPid,
        loops: LOOPS,
        maxRequests: MAX_REQUESTS,
        warmupMs: WARMUP_MS,
        beforeMs: BEFORE_MS,
        afterMs: AFTER_MS,
        pollMs: POLL_MS,
      };
      const run = await runTask<TargetKillRun>('target-kill-process', task, CPU.load, WARMUP_MS + BEFORE_MS + AFTER_MS + 60_000);
      return { figures: analyseKill(run, VICTIM), run };
    } finally {
      await sy.stop();
    }
  } finally {
    await Promise.all(groups.map((g) => g.stop()));
  }
}

/** Each retries setting in turn; one that fails does not stop the other. */
async function runAll(): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const retries of RETRIES) {
    process.stdout.write(`  target kill, retries ${retries} … `);
    try {
      const { figures, run } = await runKill(retries);
      outcomes.push({ retries, figures, run });
      console.log(`${num(figures.failedAfterKill)} failed after the kill, ejection seen after ${ms(figures.ejectionSeenMs)} ms`);
    } catch (err) {
      outcomes.push({ retries, error: err instanceof Error ? err.message : String(err) });
      console.log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return outcomes;
}

/** The table, one row per retries setting, and what went wrong per row. */
function lines(outcomes: Outcome[]): string[] {
  const measured = outcomes.flatMap((o) => ('figures' in o ? [{ retries: o.retries, f: o.figures, errors: o.run.log.errors }] : []));
  const rows = measured.map(({ retries, f }) => [
    String(retries),
    num(f.requests),
    num(f.reqPerSec),
    num(f.failedAfterKill),
    num(f.failedBeforeKill),
    ms(f.ejectionSeenMs),
    ms(f.stillHealthyMs),
    ms(f.lastKilledAnswerMs),
    num(f.killedAnswersBeforeKill),
    num(f.liveAnswersAfterKill),
  ]);
  const headers = [
    'retries',
    'requests',
    'req/s',
    'failed after kill',
    'failed before kill',
    'time to ejection ms',
    'still HEALTHY at ms',
    'last answer from killed target, ms',
    'killed target answers before kill',
    'live target answers after kill',
  ];
  const details = measured.flatMap(({ retries, f, errors }) => {
    const parts = [
      ...Object.entries(f.non2xxAfterKill).map(([status, n]) => `${num(n)} × status ${status}`),
      ...Object.entries(errors).map(([message, n]) => `${num(n)} × ${message}`),
    ];
    return parts.length > 0 ? [`- retries ${retries}: ${parts.join('; ')}`] : [];
  });
  return [
    ...table(headers, rows),
    '',
    `${LOOPS} request loops: ${WARMUP_MS / 1000} s unlogged warm-up, ${BEFORE_MS / 1000} s before the kill (SIGKILL to the process serving the second target alone), ${AFTER_MS / 1000} s after it. ` +
      'Times in ms after the kill. "Failed" = transport errors + non-2xx answers; after the kill = completed at or after it.',
    `Ejection is watched by polling GET /upstreams/${UPSTREAM}/health every ${POLL_MS} ms: "time to ejection" is when the first answer showing the target UNHEALTHY returned, ` +
      '"still HEALTHY at" when the last poll that showed it HEALTHY was sent; the ejection happened between the two. ' +
      'A negative "last answer from killed target" means its last answer arrived before the kill.',
    ...details,
    ...outcomes.flatMap((o) => ('error' in o ? [`- retries ${o.retries}: failed to run: ${o.error}`] : [])),
  ];
}

/** The goal: with retries, nobody sees the kill; the run must show both targets serving, too. */
function goal(outcomes: Outcome[]): Goal {
  const o = outcomes.find((x) => x.retries === 5);
  if (o === undefined || !('figures' in o)) return { text: GOAL, actual: 'not run', met: false };
  const f = o.figures;
  const caveats = [
    f.killedAnswersBeforeKill === 0 ? 'the killed target answered nothing before the kill' : '',
    f.liveAnswersAfterKill === 0 ? 'the live target answered nothing after it' : '',
  ].filter((c) => c !== '');
  const actual = `${num(f.failedAfterKill)} failed` + (caveats.length > 0 ? `, but ${caveats.join(' and ')}` : '');
  return { text: GOAL, actual, met: f.failedAfterKill === 0 && caveats.length === 0 };
}

/** The target-kill scenario. */
export const targetKill: Scenario = {
  id: 'target-kill',
  title: 'Target killed under load (SPEC 5, health checks)',
  goals: [GOAL],
  async run(_s: BenchSettings): Promise<ScenarioReport> {
    const outcomes = await runAll();
    if (outcomes.every((o) => 'error' in o)) throw new Error(outcomes.map((o) => ('error' in o ? `retries ${o.retries}: ${o.error}` : '')).join('; '));
    const failed = outcomes.flatMap((o) => ('error' in o ? [`retries ${o.retries}: ${o.error}`] : []));
    return {
      id: 'target-kill',
      title: this.title,
      lines: lines(outcomes),
      goals: [goal(outcomes)],
      data: {
        healthchecks: HEALTHCHECKS,
        runs: outcomes.map((o) =>
          'figures' in o ? { retries: o.retries, figures: o.figures, errors: o.run.log.errors, killMs: o.run.killMs, polls: o.run.polls } : o,
        ),
      },
      error: failed.length > 0 ? failed.join('; ') : undefined,
    };
  },
};
