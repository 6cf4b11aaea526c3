import type { HistoryItem, RolloutPoll, RolloutRun } from './rollout-process.js';
import { COLOUR, type ColourLog } from './switch-client.js';

/** Events after which the service's traffic is divided differently. */
const TRAFFIC_EVENTS = new Set(['rollout_started', 'rollout_step', 'rollout_succeeded', 'rollout_rolled_back', 'rollout_aborted']);
const ENDED = new Set(['succeeded', 'rolled_back', 'aborted', 'paused']);

/** A moment the split changed, on the client's clock. */
export interface Boundary {
  atMs: number;
  /** Percent configured on the new upstream from then on. */
  toPct: number;
  event: string;
  /** The poll bracket that saw the change: the poll before the first one showing it was sent at `pollFromMs`, that first one returned at `pollToMs`. */
  pollFromMs: number | null;
  pollToMs: number | null;
}

/** One phase of the run (before, each step, after) and how traffic was actually divided in it. */
export interface StepFigures {
  label: string;
  configuredPct: number;
  startMs: number;
  endMs: number;
  /** Requests sent inside the phase, minus `guardMs` at each end. */
  requests: number;
  /** Of those, answered 2xx by blue or green. */
  answered: number;
  toAnswers: number;
  observedPct: number;
  /** Windows of `windowSize` consecutive answered requests (sliding by one). */
  windows: number;
  /** The largest |new-colour answers in a window − configured share of the window|, in requests (= percentage points at 100). */
  worstWindowDeviation: number;
}

/** Whole-run counts. */
export interface Outcomes {
  requests: number;
  errors: number;
  non2xx: number;
  byColour: Record<string, number>;
  reqPerSec: number;
}

const CODE_NAMES = ['none', 'blue', 'green', 'other'];

/** Server ISO time → ms on the client's clock. */
export function clientMs(run: RolloutRun, iso: string | null | undefined): number | null {
  if (iso === null || iso === undefined) return null;
  const wall = Date.parse(iso);
  return Number.isFinite(wall) ? wall - run.wallAtOriginMs : null;
}

/** The poll bracket of a change: the first poll that showed it, and the one before it (or the POST that started it). */
function bracket(run: RolloutRun, event: string, toPct: number): { from: number | null; to: number | null } {
  if (event === 'rollout_started') return { from: run.post.startMs, to: run.post.endMs };
  const ended = event !== 'rollout_step';
  const first = run.polls.findIndex((p) => (ended ? p.state !== null && ENDED.has(p.state) : p.toWeight === toPct));
  if (first < 0) return { from: null, to: null };
  return { from: first > 0 ? run.polls[first - 1].startMs : run.post.startMs, to: run.polls[first].endMs };
}

/** When the split changed: from the service's history where it has the events, else from the polls. */
export function boundaries(run: RolloutRun, to: string): { list: Boundary[]; source: 'history' | 'polls' } {
  const fromHistory = run.history
    .filter((h: HistoryItem) => TRAFFIC_EVENTS.has(h.event))
    .map((h) => ({ atMs: clientMs(run, h.at) ?? NaN, toPct: h.traffic[to] ?? 0, event: h.event }))
    .filter((b) => b.atMs >= run.post.startMs - 5);
  if (fromHistory.length > 0) {
    return {
      source: 'history',
      list: fromHistory.map((b) => {
        const { from, to: until } = bracket(run, b.event, b.toPct);
        return { ...b, pollFromMs: from, pollToMs: until };
      }),
    };
  }
  const list: Boundary[] = [];
  let last = 0;
  run.polls.forEach((p, i) => {
    if (p.toWeight === null || p.toWeight === last) return;
    list.push({ atMs: p.endMs, toPct: p.toWeight, event: 'poll', pollFromMs: i > 0 ? run.polls[i - 1].startMs : run.post.startMs, pollToMs: p.endMs });
    last = p.toWeight;
  });
  return { source: 'polls', list };
}

/** Figures for requests sent in [startMs + guard, endMs − guard). */
export function stepFigures(
  log: ColourLog,
  toColour: number,
  label: string,
  pct: number,
  startMs: number,
  endMs: number,
  guardMs: number,
  windowSize: number,
): StepFigures {
  const seq: number[] = [];
  let requests = 0;
  for (let i = 0; i < log.count; i++) {
    const t = log.sentMs[i];
    if (t < startMs + guardMs || t >= endMs - guardMs) continue;
    requests++;
    const c = log.colour[i];
    if (log.status[i] >= 200 && log.status[i] < 300 && (c === COLOUR.blue || c === COLOUR.green)) seq.push(c === toColour ? 1 : 0);
  }
  const toAnswers = seq.reduce((a, b) => a + b, 0);
  const expected = (pct / 100) * windowSize;
  let inWindow = 0;
  let worst = 0;
  let windows = 0;
  for (let i = 0; i < seq.length; i++) {
    inWindow += seq[i];
    if (i >= windowSize) inWindow -= seq[i - windowSize];
    if (i < windowSize - 1) continue;
    windows++;
    worst = Math.max(worst, Math.abs(inWindow - expected));
  }
  return {
    label,
    configuredPct: pct,
    startMs,
    endMs,
    requests,
    answered: seq.length,
    toAnswers,
    observedPct: seq.length > 0 ? (100 * toAnswers) / seq.length : NaN,
    windows,
    worstWindowDeviation: worst,
  };
}

/** Errors, non-2xx answers and answers per colour over the whole log. */
export function outcomes(log: ColourLog): Outcomes {
  const o: Outcomes = { requests: log.count, errors: 0, non2xx: 0, byColour: {}, reqPerSec: 0 };
  let last = 0;
  for (let i = 0; i < log.count; i++) {
    last = Math.max(last, log.doneMs[i]);
    if (log.status[i] === 0) {
      o.errors++;
      continue;
    }
    if (log.status[i] < 200 || log.status[i] >= 300) o.non2xx++;
    const name = CODE_NAMES[log.colour[i]];
    o.byColour[name] = (o.byColour[name] ?? 0) + 1;
  }
  o.reqPerSec = last > 0 ? (1000 * log.count) / last : 0;
  return o;
}

/**
 * How many answers from `colour` the client received in each judged window, to set beside
 * the count the rollout judged on (it counts requests as they complete, so this counts by
 * answer time). A window runs from the previous judgement (or the rollout's start) to this one.
 */
export function answersPerJudgement(run: RolloutRun, colour: number): (number | null)[] {
  const { log } = run;
  let from = clientMs(run, run.final?.started_at);
  return (run.final?.judgements ?? []).map((j) => {
    const to = clientMs(run, j.at);
    const start = from;
    from = to;
    if (start === null || to === null) return null;
    let n = 0;
    for (let i = 0; i < log.count; i++) if (log.colour[i] === colour && log.doneMs[i] >= start && log.doneMs[i] < to) n++;
    return n;
  });
}

/** The first poll that showed the rollout ended (any way), or undefined. */
export function endPoll(run: RolloutRun): RolloutPoll | undefined {
  return run.polls.find((p) => p.state !== null && ENDED.has(p.state));
}

/** Requests answered by `colour` that were sent after `afterMs`, and when the last of them was answered. */
export function answersSentAfter(log: ColourLog, colour: number, afterMs: number): { count: number; lastDoneMs: number | null; others: number } {
  let count = 0;
  let others = 0;
  let lastDone = -Infinity;
  for (let i = 0; i < log.count; i++) {
    if (log.sentMs[i] <= afterMs) continue;
    if (log.colour[i] === colour) {
      count++;
      lastDone = Math.max(lastDone, log.doneMs[i]);
    } else if (log.colour[i] !== COLOUR.none) others++;
  }
  return { count, lastDoneMs: count > 0 ? lastDone : null, others };
}

/** Answers by colour in one span of send time. */
export interface Bucket {
  startMs: number;
  endMs: number;
  blue: number;
  green: number;
  failed: number;
}

/**
 * Answers by colour per `bucketMs` of send time, for the chart. Buckets restart at each of
 * `edges` (the step changes), so none straddles two splits; a remainder shorter than half a
 * bucket joins the one before it.
 */
export function buckets(log: ColourLog, bucketMs: number, edges: number[]): Bucket[] {
  let end = 0;
  for (let i = 0; i < log.count; i++) end = Math.max(end, log.sentMs[i]);
  const cuts = [0, ...edges.filter((e) => e > 0 && e < end).sort((a, b) => a - b), end];
  const out: Bucket[] = [];
  for (let c = 0; c + 1 < cuts.length; c++) {
    for (let t = cuts[c]; t < cuts[c + 1]; t += bucketMs) {
      const until = Math.min(t + bucketMs, cuts[c + 1]);
      if (until - t < bucketMs / 2 && t > cuts[c]) out[out.length - 1].endMs = until;
      else out.push({ startMs: t, endMs: until, blue: 0, green: 0, failed: 0 });
    }
  }
  let b = 0;
  for (let i = 0; i < log.count; i++) {
    while (b + 1 < out.length && log.sentMs[i] >= out[b].endMs) b++;
    const bucket = out[b];
    const ok = log.status[i] >= 200 && log.status[i] < 300;
    if (ok && log.colour[i] === COLOUR.blue) bucket.blue++;
    else if (ok && log.colour[i] === COLOUR.green) bucket.green++;
    else bucket.failed++;
  }
  return out;
}
