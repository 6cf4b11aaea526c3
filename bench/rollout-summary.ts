/**
 * A rollout run's log, polls and history → the figures the rollout scenarios report:
 * per phase, the configured and observed share of the new colour; and for the rollback run,
 * how fast it rolled back and whether the new colour answered anything after.
 */
import {
  answersPerJudgement,
  answersSentAfter,
  boundaries,
  clientMs,
  endPoll,
  outcomes,
  stepFigures,
  type Boundary,
  type Outcomes,
  type StepFigures,
} from './rollout-analysis.js';
import type { RolloutRun } from './rollout-process.js';
import { COLOUR } from './switch-client.js';

/** A judgement as the API shows it, with the new colour's answers the client got in its window. */
export type CheckedJudgement = NonNullable<RolloutRun['final']>['judgements'][number] & { clientAnswers: number | null };

/** Requests sent this close to a change are left out: they may have been in flight across it. */
export const GUARD_MS = 50;
/** Size of the sliding windows of consecutive requests. */
export const WINDOW = 100;

/** The accuracy run, summed up. */
export interface AccuracySummary {
  state: string | null;
  boundarySource: 'history' | 'polls';
  boundaries: Boundary[];
  /** Boundaries from the history that lie inside their poll bracket (a check on the clock translation). */
  insideBracket: number;
  phases: StepFigures[];
  outcomes: Outcomes;
  /** started_at → ended_at, from the server. */
  serverRolloutMs: number | null;
  /** POST sent → first poll answer showing the rollout ended. */
  seenRolloutMs: number | null;
  judgements: CheckedJudgement[];
  /** Where t = 0 is on the log's clock: when the POST was sent. */
  zeroMs: number;
}

/** The rollback run, summed up. */
export interface RollbackSummary {
  state: string | null;
  reason: string | null;
  judgements: CheckedJudgement[];
  serverMs: number | null;
  seenMs: number | null;
  /** Green answers to requests sent after the poll that showed `rolled_back` returned (goal 0). */
  greenAfterSeen: number;
  blueAfterSeen: number;
  /** Green answers to requests sent more than 2 ms after the server's recorded rollback time. */
  greenAfterServer: number | null;
  /** The server's rollback time → the last green answer of any request. */
  lastGreenAfterRollbackMs: number | null;
  outcomes: Outcomes;
}

/** Label of the phase a boundary opens. */
function phaseLabel(b: Boundary, stepNo: number): string {
  if (b.event === 'rollout_succeeded') return `step ${stepNo} → succeeded`;
  if (b.event === 'rollout_rolled_back') return 'rolled back';
  if (b.event === 'rollout_aborted') return 'aborted';
  return `step ${stepNo}`;
}

/** Before, each step, and after the end, with their figures. */
function phases(run: RolloutRun, list: Boundary[]): StepFigures[] {
  const { log } = run;
  let end = 0;
  for (let i = 0; i < log.count; i++) end = Math.max(end, log.sentMs[i] + 1);
  const out = [stepFigures(log, COLOUR.green, 'before', 0, 0, list[0]?.atMs ?? end, GUARD_MS, WINDOW)];
  list.forEach((b, i) => {
    out.push(stepFigures(log, COLOUR.green, phaseLabel(b, i + 1), b.toPct, b.atMs, list[i + 1]?.atMs ?? end, GUARD_MS, WINDOW));
  });
  return out;
}

/** The run's judgements with the client's own count beside each. */
function checked(run: RolloutRun): CheckedJudgement[] {
  const counts = answersPerJudgement(run, COLOUR.green);
  return (run.final?.judgements ?? []).map((j, i) => ({ ...j, clientAnswers: counts[i] ?? null }));
}

/** True when a judged count is within 5% (or 20 requests) of what the client saw in that window. */
export function countAgrees(j: CheckedJudgement): boolean {
  return j.clientAnswers !== null && Math.abs(j.requests - j.clientAnswers) <= Math.max(20, 0.05 * j.clientAnswers);
}

/** Span between two server ISO times, in ms. */
function span(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  return Date.parse(to) - Date.parse(from);
}

/** The accuracy run's figures. */
export function summariseAccuracy(run: RolloutRun): AccuracySummary {
  const { list, source } = boundaries(run, 'green');
  const seen = endPoll(run);
  return {
    state: run.final?.state ?? null,
    boundarySource: source,
    boundaries: list,
    insideBracket: list.filter((b) => b.pollFromMs !== null && b.pollToMs !== null && b.atMs >= b.pollFromMs - 1 && b.atMs <= b.pollToMs + 1).length,
    phases: phases(run, list),
    outcomes: outcomes(run.log),
    serverRolloutMs: span(run.final?.started_at, run.final?.ended_at),
    seenRolloutMs: seen ? seen.endMs - run.post.startMs : null,
    judgements: checked(run),
    zeroMs: run.post.startMs,
  };
}

/** The rollback run's figures. */
export function summariseRollback(run: RolloutRun): RollbackSummary {
  const seen = run.polls.find((p) => p.state === 'rolled_back');
  const after = seen ? answersSentAfter(run.log, COLOUR.green, seen.endMs) : { count: 0, others: 0 };
  const rolledAt = clientMs(run, run.history.find((h) => h.event === 'rollout_rolled_back')?.at);
  const afterServer = rolledAt !== null ? answersSentAfter(run.log, COLOUR.green, rolledAt + 2) : null;
  let lastGreen = -Infinity;
  for (let i = 0; i < run.log.count; i++) if (run.log.colour[i] === COLOUR.green) lastGreen = Math.max(lastGreen, run.log.doneMs[i]);
  return {
    state: run.final?.state ?? null,
    reason: run.final?.reason ?? null,
    judgements: checked(run),
    serverMs: span(run.final?.started_at, run.final?.ended_at),
    seenMs: seen ? seen.endMs - run.post.startMs : null,
    greenAfterSeen: after.count,
    blueAfterSeen: after.others,
    greenAfterServer: afterServer?.count ?? null,
    lastGreenAfterRollbackMs: rolledAt !== null && Number.isFinite(lastGreen) ? lastGreen - rolledAt : null,
    outcomes: outcomes(run.log),
  };
}
