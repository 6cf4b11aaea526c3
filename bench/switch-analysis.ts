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
  /** Call return to the last such answer; null when there was none. */
  lastLateAfterReturnMs: number | null;
  /** Call start to the last old-colour answer of any request (in-flight ones included). */
  drainAfterStartMs: number | null;
  windowRequests: number;
  /** p99 latency of requests sent within ±window around the call. */
  p99WindowMs: number;
}

/** Figures for a whole switch-under-load run. */
export interface SwitchSummary {
  requests: number;
  reqPerSec: number;
  errors: number;
  non2xx: number;
  errorMessages: Record<string, number>;
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

/** Analyse switch `index` of the run; `untilMs` is when the next switch starts (or the run ends). */
function analyseSwitch(run: SwitchRun, index: number, from: string, untilMs: number, windowMs: number): SwitchFigures {
  const { log } = run;
  const call = run.calls[index];
  const old = COLOUR_NAMES[from] ?? COLOUR.other;
  let late = 0;
  let lastLate = -Infinity;
  let lastOld = -Infinity;
  for (let i = 0; i < log.count; i++) {
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
    lastLateAfterReturnMs: late > 0 ? lastLate - call.endMs : null,
    drainAfterStartMs: Number.isFinite(lastOld) ? lastOld - call.startMs : null,
    windowRequests: window.length,
    p99WindowMs: percentile(window, 0.99),
  };
}

/** Turn a run's raw log into the figures the report shows. */
export function analyseRun(run: SwitchRun, options: AnalysisOptions): SwitchSummary {
  const { log, calls } = run;
  let errors = 0;
  let non2xx = 0;
  let lastDone = 0;
  for (let i = 0; i < log.count; i++) {
    if (log.status[i] === 0) errors++;
    else if (log.status[i] < 200 || log.status[i] >= 300) non2xx++;
    lastDone = Math.max(lastDone, log.doneMs[i]);
  }
  const firstCall = calls[0]?.startMs ?? lastDone;
  const before = latenciesSentIn(log, 0, firstCall - options.windowMs);
  const switches = calls.map((_, i) => {
    const from = i === 0 ? options.initialHost : calls[i - 1].to;
    return analyseSwitch(run, i, from, calls[i + 1]?.startMs ?? Infinity, options.windowMs);
  });
  return {
    requests: log.count,
    reqPerSec: lastDone > 0 ? (log.count / lastDone) * 1000 : 0,
    errors,
    non2xx,
    errorMessages: log.errors,
    p50BeforeMs: percentile(before, 0.5),
    p99BeforeMs: percentile(before, 0.99),
    switches,
  };
}
