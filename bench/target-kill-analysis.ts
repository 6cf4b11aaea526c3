import type { TargetKillRun } from './target-kill-process.js';

/** Figures for one target-kill run (times in ms, relative to the kill unless said otherwise). */
export interface KillFigures {
  requests: number;
  reqPerSec: number;
  /** Transport errors + non-2xx answers that completed before the kill (goal: none at all). */
  failedBeforeKill: number;
  /** Transport errors + non-2xx answers that completed at or after the kill. */
  failedAfterKill: number;
  transportErrorsAfterKill: number;
  /** Status → count of the non-2xx answers after the kill. */
  non2xxAfterKill: Record<string, number>;
  killedAnswersBeforeKill: number;
  killedAnswersAfterKill: number;
  liveAnswersAfterKill: number;
  /** The last answer from the killed target; negative when it arrived before the kill. */
  lastKilledAnswerMs: number | null;
  /** The killed target's health in the poll just before the kill. */
  healthBeforeKill: string | null;
  /** When the first poll that showed the target UNHEALTHY returned: ejection came before this. */
  ejectionSeenMs: number | null;
  /** When the last poll that still showed it HEALTHY was sent (0 if none after the kill): ejection came after this. */
  stillHealthyMs: number | null;
  polls: number;
}

/** Turn a run's raw log and polls into figures; `victim` is the killed target's index. */
export function analyseKill(run: TargetKillRun, victim: number): KillFigures {
  const { log, killMs } = run;
  const killed = victim + 1;
  const f = {
    failedBeforeKill: 0,
    failedAfterKill: 0,
    transportErrorsAfterKill: 0,
    non2xxAfterKill: {} as Record<string, number>,
    killedAnswersBeforeKill: 0,
    killedAnswersAfterKill: 0,
    liveAnswersAfterKill: 0,
  };
  let lastKilled = -Infinity;
  let lastDone = 0;
  for (let i = 0; i < log.count; i++) {
    const after = log.doneMs[i] >= killMs;
    const status = log.status[i];
    lastDone = Math.max(lastDone, log.doneMs[i]);
    if (status < 200 || status >= 300) {
      if (!after) f.failedBeforeKill++;
      else if (status === 0) f.transportErrorsAfterKill++;
      else f.non2xxAfterKill[status] = (f.non2xxAfterKill[status] ?? 0) + 1;
      if (after) f.failedAfterKill++;
      continue;
    }
    if (log.target[i] === killed) {
      lastKilled = Math.max(lastKilled, log.doneMs[i]);
      if (after) f.killedAnswersAfterKill++;
      else f.killedAnswersBeforeKill++;
    } else if (after && log.target[i] !== 0) f.liveAnswersAfterKill++;
  }
  const after = run.polls.filter((p) => p.startMs >= killMs);
  const seen = after.find((p) => p.health === 'UNHEALTHY');
  const healthy = after.filter((p) => p.health === 'HEALTHY').at(-1);
  return {
    requests: log.count,
    reqPerSec: lastDone > 0 ? (log.count / lastDone) * 1000 : 0,
    ...f,
    lastKilledAnswerMs: Number.isFinite(lastKilled) ? lastKilled - killMs : null,
    healthBeforeKill: run.polls.find((p) => p.startMs < killMs)?.health ?? null,
    ejectionSeenMs: seen !== undefined ? seen.endMs - killMs : null,
    stillHealthyMs: seen === undefined ? null : healthy !== undefined ? healthy.startMs - killMs : 0,
    polls: after.length,
  };
}
