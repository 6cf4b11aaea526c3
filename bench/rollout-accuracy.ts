/**
 * SPEC 9.3, gradual accuracy: a rollout blue → green in steps 10, 25, 50, 100% under steady
 * load; per step, the configured green share against the share of requests sent in that step
 * that green answered, over the step and over every 100 consecutive requests. Then a rollout
 * to a green answering 500, which must roll back: how fast, and does green answer after.
 */
import { ms, num, table, type Goal, type ScenarioReport } from './report.js';
import { accuracyPlan, accuracyRun, LOOPS, POLL_MS, ROLLBACK_PLAN, rollbackRun } from './rollout-runs.js';
import { countAgrees, GUARD_MS, summariseAccuracy, summariseRollback, WINDOW, type AccuracySummary, type RollbackSummary } from './rollout-summary.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';

/** Tolerances the goals hold the split to. */
const SHARE_TOLERANCE = 1;
const WINDOW_TOLERANCE = 5;
const GOAL_SHARE = `rollout: every step's observed green share within ±${SHARE_TOLERANCE} point of the configured, and the rollout succeeded`;
const GOAL_WINDOW = `rollout: every ${WINDOW} consecutive requests within ±${WINDOW_TOLERANCE} of the configured green count`;
const GOAL_CLEAN = 'rollout run: no errors, no non-2xx';
const GOAL_ROLLBACK = 'rollback: no green answer to a request sent after the rollback was seen';
const GOAL_JUDGED = 'rollout judgements: each judged green request count within 5% (or 20) of the green answers the client got in that window';

const secs = (value: number | null, zero = 0): string => (value === null || !Number.isFinite(value) ? '–' : ((value - zero) / 1000).toFixed(3));
const pct = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : '–');

/** The per-step table, the judgements and the run's totals. */
function accuracyLines(sum: AccuracySummary, s: BenchSettings): string[] {
  const z = sum.zeroMs;
  const rows = sum.phases.map((p) => [
    p.label,
    String(p.configuredPct),
    secs(p.startMs, z),
    secs(p.endMs, z),
    num(p.requests),
    num(p.toAnswers),
    pct(p.observedPct),
    Number.isFinite(p.observedPct) ? (p.observedPct - p.configuredPct).toFixed(2) : '–',
    p.windows > 0 ? `±${num(p.worstWindowDeviation, 1)}` : '–',
    num(p.windows),
  ]);
  const headers = [
    'phase',
    'configured green %',
    'from s',
    'to s',
    'requests',
    'green answers',
    'observed green %',
    'deviation pts',
    `worst ${WINDOW}-request window`,
    'windows',
  ];
  const judged = sum.judgements.map((j) => [
    String(j.step),
    String(j.weight),
    j.verdict,
    num(j.requests),
    j.clientAnswers === null ? '–' : num(j.clientAnswers),
    num(j.errors),
    j.p99_ms === null ? '–' : String(j.p99_ms),
    j.reason,
  ]);
  const o = sum.outcomes;
  const colours = Object.entries(o.byColour)
    .map(([c, n]) => `${c} ${num(n)}`)
    .join(', ');
  const checked = sum.boundaries.filter((b) => b.pollFromMs !== null).length;
  return [
    ...table(headers, rows),
    '',
    `Plan: \`${JSON.stringify(accuracyPlan(s))}\`; ${LOOPS} request loops, 1 s unlogged warm-up, 1 s before the rollout and 1 s after it ended. ` +
      `Times in s from the POST; phases from the service's history (${sum.boundarySource === 'history' ? 'GET /history timestamps on the client clock via the wall clock' : 'history unavailable: from the polls'}), ` +
      `counting requests sent inside the phase less ${GUARD_MS} ms at each end, answered 2xx. The worst window is the largest |green answers − configured share| over every run of ${WINDOW} consecutive such requests in send order (sliding by one).`,
    `Rollout time: ${ms(sum.serverRolloutMs)} ms from started_at to ended_at (server), ${ms(sum.seenRolloutMs)} ms from sending the POST to the first GET rollout (polled every ${POLL_MS.accuracy} ms) showing it ${sum.state ?? 'ended'}; final state **${sum.state ?? 'unknown'}**.`,
    `Step times from the history lie inside the poll bracket that saw them for ${sum.insideBracket} of ${checked} changes.`,
    `${num(o.requests)} requests (${num(o.reqPerSec)} req/s): ${num(o.errors)} errors, ${num(o.non2xx)} non-2xx; answers by colour: ${colours}.`,
    '',
    ...table(['judged step', 'green %', 'verdict', 'green requests judged', 'green answers the client got', 'errors', 'p99 ms', 'reason'], judged),
    '',
    '"Green answers the client got": answers from green that arrived between the previous judgement (or the start) and this one, by the client\'s clock; ' +
      'the judged count should match it closely (it counts requests as they complete).',
  ];
}

/** The rollback row and what it means. */
function rollbackLines(sum: RollbackSummary | { error: string }): string[] {
  const intro = [
    '',
    `**Rollback.** The same, but green's two targets answer 500 and the plan is \`${JSON.stringify(ROLLBACK_PLAN)}\`; GET rollout polled every ${POLL_MS.rollback} ms.`,
    '',
  ];
  if ('error' in sum) return [...intro, `Failed to run: ${sum.error}`];
  const headers = [
    'final state',
    'rollout start → rolled_back, server ms',
    '→ seen by a poll ms',
    'green answers sent after seen',
    'blue answers sent after seen',
    'green sent > 2 ms after server rollback',
    'last green answer after rollback ms',
  ];
  const row = [
    sum.state ?? '–',
    ms(sum.serverMs),
    ms(sum.seenMs),
    num(sum.greenAfterSeen),
    num(sum.blueAfterSeen),
    sum.greenAfterServer === null ? '–' : num(sum.greenAfterServer),
    ms(sum.lastGreenAfterRollbackMs),
  ];
  const judged = sum.judgements.map(
    (j) =>
      `step ${j.step} (${j.weight}%) ${j.verdict} on ${num(j.requests)} green requests (the client got ${j.clientAnswers === null ? '–' : num(j.clientAnswers)} green answers in that window), ${num(j.errors)} errors: ${j.reason}`,
  );
  const o = sum.outcomes;
  return [
    ...intro,
    ...table(headers, [row]),
    '',
    `Judgements: ${judged.length > 0 ? judged.join('; ') : 'none'}. ` +
      `Run: ${num(o.requests)} requests, ${num(o.non2xx)} non-2xx (green's 500s while it had 10%), ${num(o.errors)} errors. ` +
      '"Last green answer after rollback" is from the rollback recorded in the history to the last green answer of any request, in-flight ones included.',
  ];
}

/** The goals. */
function goals(acc: AccuracySummary, rb: RollbackSummary | { error: string }): Goal[] {
  const steps = acc.phases.filter((p) => p.label.startsWith('step'));
  // A step with no answers at all counts as infinitely off.
  const worstShare = Math.max(0, ...steps.map((p) => (Number.isFinite(p.observedPct) ? Math.abs(p.observedPct - p.configuredPct) : Infinity)));
  const worstWindow = Math.max(0, ...steps.map((p) => p.worstWindowDeviation));
  const o = acc.outcomes;
  const succeeded = acc.state === 'succeeded' && steps.length === 4;
  const out: Goal[] = [
    { text: GOAL_SHARE, actual: `worst ${pct(worstShare)} pts; ${acc.state ?? 'unknown'}`, met: succeeded && worstShare <= SHARE_TOLERANCE },
    // A step too short for one window proves nothing.
    { text: GOAL_WINDOW, actual: `worst ±${num(worstWindow, 1)}`, met: succeeded && steps.every((p) => p.windows > 0) && worstWindow <= WINDOW_TOLERANCE },
    { text: GOAL_CLEAN, actual: `${num(o.errors)} errors, ${num(o.non2xx)} non-2xx`, met: o.errors === 0 && o.non2xx === 0 },
  ];
  const all = [...acc.judgements, ...('error' in rb ? [] : rb.judgements)];
  const off = all.filter((j) => !countAgrees(j));
  out.push({
    text: GOAL_JUDGED,
    actual:
      off.length === 0
        ? `${all.length} of ${all.length} agree`
        : off.map((j) => `${num(j.requests)} judged vs ${j.clientAnswers === null ? '–' : num(j.clientAnswers)} seen`).join('; '),
    met: all.length > 0 && off.length === 0,
  });
  if ('error' in rb) return [...out, { text: GOAL_ROLLBACK, actual: 'not run', met: false }];
  const ok = rb.state === 'rolled_back' && rb.blueAfterSeen > 0;
  const actual =
    rb.state !== 'rolled_back'
      ? `${num(rb.greenAfterSeen)}, but the state is ${rb.state ?? 'unknown'}`
      : rb.blueAfterSeen === 0
        ? `${num(rb.greenAfterSeen)}, but no blue answers`
        : num(rb.greenAfterSeen);
  return [...out, { text: GOAL_ROLLBACK, actual, met: ok && rb.greenAfterSeen === 0 }];
}

/** The rollout-accuracy scenario. */
export const rolloutAccuracy: Scenario = {
  id: 'rollout-accuracy',
  title: 'Gradual rollout accuracy and rollback (SPEC 9.3)',
  goals: [GOAL_SHARE, GOAL_WINDOW, GOAL_CLEAN, GOAL_JUDGED, GOAL_ROLLBACK],
  async run(s): Promise<ScenarioReport> {
    process.stdout.write('  rollout 10 → 25 → 50 → 100% … ');
    const run = await accuracyRun(s);
    const acc = summariseAccuracy(run);
    console.log(`${acc.state ?? 'no state'} after ${ms(acc.serverRolloutMs)} ms`);
    process.stdout.write('  rollout to a failing green … ');
    let rb: RollbackSummary | { error: string };
    try {
      rb = summariseRollback(await rollbackRun());
      console.log(`${rb.state ?? 'no state'} after ${ms(rb.serverMs)} ms`);
    } catch (err) {
      rb = { error: err instanceof Error ? err.message : String(err) };
      console.log(`failed: ${rb.error}`);
    }
    return {
      id: this.id,
      title: this.title,
      lines: [...accuracyLines(acc, s), ...rollbackLines(rb)],
      goals: goals(acc, rb),
      data: { plan: accuracyPlan(s), accuracy: acc, final: run.final, history: run.history, rollbackPlan: ROLLBACK_PLAN, rollback: rb },
      error: 'error' in rb ? `rollback run: ${rb.error}` : undefined,
    };
  },
};
