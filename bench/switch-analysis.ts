import { COLOUR, type ColourLog } from './switch-client.js';
import type { SwitchRun } from './switch-process.js';

/** Figures for one switch (times in ms). */
export interface SwitchFigures {
  from: string;
  to: string;
  adminStatus: number;
  /** Admin call start to the end of its answer. */
  adminMs: number;
  /** Answers from the old colour to requests sent after the call returned (goal 0). */
  lateOldAnswers: number;
  /** Answers from the new colour to those requests (a switch that never took shows 0 here). */
  newAnswersAfterReturn: number;
  /** Call return to the last late old-colour answer; null when there was none. */
  lastLateAfterReturnMs: number | null;
  /** Call start to the last old-colour answer of any request (in-flight ones included). */
  drainAfterStartMs: number | null;
  windowRequests: number;
  /** p99 latency of requests sent within ±window around the call. */
  p99WindowMs: number;
  /** The call's answer to the first new-colour answer to a request sent after it (null: none). */
  firstNewAfterAckMs: number | null;
  /** Longest time with no response completing, from the call's start to `window` after its end. */
  longestPauseMs: number;
  /** Responses in the slowest 100 ms in the second after the call, over the mean per 100 ms before the first switch. */
  slowestWindowRatio: number;
}

/** Width of the windows in which the response rate is compared. */
const RATE_WINDOW_MS = 100;

/** Figures for a whole switch-under-load run. */
export interface SwitchSummary {
  requests: number;
  reqPerSec: number;
  errors: number;
  non2xx: number;
  errorMessages: Record<string, number>;
  /** Answers by the colour in their `x-upstream` header ("none" when missing). */
  answersByColour: Record<string, number>;
  p50BeforeMs: number;
  p99BeforeMs: number;
  switches: SwitchFigures[];
}

/** How the run is cut into windows. */
export interface AnalysisOptions {
  initialHost: string;
  /** Half-width of the window around each switch. */
  windowMs: number;
}

const COLOUR_NAMES: Record<string, number> = { blue: COLOUR.blue, green: COLOUR.green };
const CODE_NAMES = ['none', 'blue', 'green', 'other'];

/** Nearest-rank percentile of unsorted values; 0 when there are none. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Latencies of the requests sent within [fromMs, toMs). */
function latenciesSentIn(log: ColourLog, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < log.count; i++) {
    if (log.sentMs[i] >= fromMs && log.sentMs[i] < toMs) out.push(log.doneMs[i] - log.sentMs[i]);
  }
  return out;
}

/** Completion times of the responses done within [fromMs, toMs), sorted. */
function doneIn(log: ColourLog, fromMs: number, toMs: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < log.count; i++) if (log.doneMs[i] >= fromMs && log.doneMs[i] < toMs) out.push(log.doneMs[i]);
  return Float64Array.from(out).sort();
}

/** The longest gap between consecutive completions in [fromMs, toMs), the edges included. */
function longestPause(log: ColourLog, fromMs: number, toMs: number): number {
  const done = doneIn(log, fromMs, toMs);
  let longest = 0;
  let previous = fromMs;
  for (const t of done) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, toMs - previous);
}

/** The fewest completions in any RATE_WINDOW_MS window (sliding by 10 ms) within [fromMs, toMs). */
function slowestWindow(log: ColourLog, fromMs: number, toMs: number): number {
  const done = doneIn(log, fromMs, toMs);
  let fewest = Infinity;
  for (let start = fromMs, lo = 0, hi = 0; start + RATE_WINDOW_MS <= toMs; start += 10) {
    while (lo < done.length && done[lo] < start) lo++;
    while (hi < done.length && done[hi] < start + RATE_WINDOW_MS) hi++;
    fewest = Math.min(fewest, hi - lo);
  }
  return Number.isFinite(fewest) ? fewest : 0;
}

/** Analyse switch `index` of the run; `untilMs` is when the next switch starts (or the run ends). */
function analyseSwitch(run: SwitchRun, index: number, from: string, untilMs: number, windowMs: number, ratePerWindowBefore: number): SwitchFigures {
  const { log } = run;
  const call = run.calls[index];
  const old = COLOUR_NAMES[from] ?? COLOUR.other;
  const fresh = COLOUR_NAMES[call.to] ?? COLOUR.other;
  let late = 0;
  let freshAfter = 0;
  let lastLate = -Infinity;
  let lastOld = -Infinity;
  let firstFresh = Infinity;
  for (let i = 0; i < log.count; i++) {
    if (log.colour[i] === fresh && log.sentMs[i] > call.endMs && log.sentMs[i] < untilMs) {
      freshAfter++;
      firstFresh = Math.min(firstFresh, log.doneMs[i]);
    }
    if (log.colour[i] !== old || log.doneMs[i] < call.startMs || log.sentMs[i] >= untilMs) continue;
    lastOld = Math.max(lastOld, log.doneMs[i]);
    if (log.sentMs[i] > call.endMs) {
      late++;
      lastLate = Math.max(lastLate, log.doneMs[i]);
    }
  }
  const window = latenciesSentIn(log, call.startMs - windowMs, call.endMs + windowMs);
  return {
    from,
    to: call.to,
    adminStatus: call.status,
    adminMs: call.endMs - call.startMs,
    lateOldAnswers: late,
    newAnswersAfterReturn: freshAfter,
    lastLateAfterReturnMs: late > 0 ? lastLate - call.endMs : null,
    drainAfterStartMs: Number.isFinite(lastOld) ? lastOld - call.startMs : null,
    windowRequests: window.length,
    p99WindowMs: percentile(window, 0.99),
    firstNewAfterAckMs: Number.isFinite(firstFresh) ? firstFresh - call.endMs : null,
    longestPauseMs: longestPause(log, call.startMs, call.endMs + windowMs),
    slowestWindowRatio: ratePerWindowBefore > 0 ? slowestWindow(log, call.startMs, Math.min(untilMs, call.endMs + 1000)) / ratePerWindowBefore : 0,
  };
}

/** Errors, non-2xx answers, answers per colour, and when the last answer arrived. */
function countOutcomes(log: ColourLog): { errors: number; non2xx: number; byColour: Record<string, number>; lastDoneMs: number } {
  const counts = { errors: 0, non2xx: 0, byColour: {} as Record<string, number>, lastDoneMs: 0 };
  for (let i = 0; i < log.count; i++) {
    counts.lastDoneMs = Math.max(counts.lastDoneMs, log.doneMs[i]);
    const status = log.status[i];
    if (status === 0) {
      counts.errors++;
      continue;
    }
    if (status < 200 || status >= 300) counts.non2xx++;
    const colour = CODE_NAMES[log.colour[i]];
    counts.byColour[colour] = (counts.byColour[colour] ?? 0) + 1;
  }
  return counts;
}

/** Turn a run's raw log into the figures the report shows. */
export function analyseRun(run: SwitchRun, options: AnalysisOptions): SwitchSummary {
  const { log, calls } = run;
  const counts = countOutcomes(log);
  const firstCall = calls[0]?.startMs ?? counts.lastDoneMs;
  const before = latenciesSentIn(log, 0, firstCall - options.windowMs);
  const beforeEnd = firstCall - options.windowMs;
  const ratePerWindowBefore = beforeEnd > 0 ? (doneIn(log, 0, beforeEnd).length / beforeEnd) * RATE_WINDOW_MS : 0;
  const switches = calls.map((_, i) => {
    const from = i === 0 ? options.initialHost : calls[i - 1].to;
    return analyseSwitch(run, i, from, calls[i + 1]?.startMs ?? Infinity, options.windowMs, ratePerWindowBefore);
  });
  return {
    requests: log.count,
    reqPerSec: counts.lastDoneMs > 0 ? (log.count / counts.lastDoneMs) * 1000 : 0,
    errors: counts.errors,
    non2xx: counts.non2xx,
    errorMessages: log.errors,
    answersByColour: counts.byColour,
    p50BeforeMs: percentile(before, 0.5),
    p99BeforeMs: percentile(before, 0.99),
    switches,
  };
}
