import type { WindowFigures } from '../core/traffic.js';

/** A rollout's lifecycle states. */
export type RolloutState = 'running' | 'paused' | 'succeeded' | 'rolled_back' | 'aborted';

/** What to do after `failure_threshold` failed judgements. */
export type OnFailure = 'rollback' | 'pause';

/** A validated rollout plan. */
export interface RolloutPlan {
  readonly service: string;
  /** The upstream traffic comes from (the service's host when the rollout started). */
  readonly from: string;
  readonly to: string;
  /** Percent of traffic on `to` per step, increasing, the last 100. */
  readonly steps: readonly number[];
  readonly intervalMs: number;
  readonly analysis: {
    readonly maxErrorRate: number;
    readonly maxP99Ms: number;
    readonly minRequests: number;
    readonly metrics: readonly AnalysisMetric[];
    /** With it, a shadow phase (step -1, no traffic moved) first: the mirror's compared pairs must match at least this share. */
    readonly minMirrorMatch?: number;
  };
  readonly failureThreshold: number;
  readonly onFailure: OnFailure;
  /** 'manual': hold before the final step until promote. */
  readonly gate: 'auto' | 'manual';
  /** Consecutive inconclusive judgements (too little traffic) before the rollout pauses for a person. */
  readonly maxInconclusive: number;
  /** After a restart: carry on from the saved step, or hold for a person. */
  readonly onRestart: 'resume' | 'pause';
  /** Webhooks asked before the rollout moves on: before every step, or before the final one. */
  readonly gates: readonly RolloutGate[];
}

/** A PromQL query judged at each window end. */
export interface AnalysisMetric {
  readonly name: string;
  readonly prometheus: string;
  readonly query: string;
  readonly max?: number;
  readonly min?: number;
  readonly timeoutMs: number;
}

/** What the analysis metrics said of a window: each value (null: no data or an error), and the verdict they make. */
export interface MetricsVerdict {
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly reason: string;
  readonly values: Readonly<Record<string, number | null>>;
}

/** A confirmation webhook (Flagger's confirm-rollout / confirm-promotion). */
export interface RolloutGate {
  readonly url: string;
  readonly before: 'step' | 'promote';
  readonly timeoutMs: number;
}

/** What is saved of a live rollout so that it survives a restart. */
export interface SavedProgress {
  readonly step: number;
  readonly state: 'running' | 'paused';
  readonly failures: number;
  readonly startedAt: number;
  readonly reason?: string;
}

/** One judgement of a step, with the figures it was made on. */
export interface Judgement extends WindowFigures {
  readonly at: number;
  readonly step: number;
  readonly weight: number;
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly errorRate: number;
  readonly reason: string;
  /** The analysis metrics' values, when the plan has any. */
  readonly metrics?: Readonly<Record<string, number | null>>;
}

/** Judge a window against the plan's analysis: too few requests is inconclusive, never a pass. */
export function judge(plan: RolloutPlan, w: WindowFigures): { verdict: Judgement['verdict']; errorRate: number; reason: string } {
  const errorRate = w.requests > 0 ? w.errors / w.requests : 0;
  const a = plan.analysis;
  if (w.requests < a.minRequests) {
    return { verdict: 'inconclusive', errorRate, reason: `${w.requests} requests, fewer than min_requests ${a.minRequests}` };
  }
  if (errorRate > a.maxErrorRate) {
    return { verdict: 'fail', errorRate, reason: `error rate ${round(errorRate)} above max_error_rate ${a.maxErrorRate}` };
  }
  if (w.p99Ms !== undefined && w.p99Ms > a.maxP99Ms) {
    return { verdict: 'fail', errorRate, reason: `p99 ${round(w.p99Ms)} ms above max_p99_ms ${a.maxP99Ms}` };
  }
  return { verdict: 'pass', errorRate, reason: 'within analysis limits' };
}

/** Judge a shadow window, whose figures are the mirror's compared pairs (errors: those that did not match). */
export function judgeShadow(plan: RolloutPlan, w: WindowFigures): { verdict: Judgement['verdict']; errorRate: number; reason: string } {
  const errorRate = w.requests > 0 ? w.errors / w.requests : 0;
  const { minRequests, minMirrorMatch = 1 } = plan.analysis;
  const rate = round(1 - errorRate);
  if (w.requests < minRequests) {
    return { verdict: 'inconclusive', errorRate, reason: `${w.requests} mirrored pairs compared, fewer than min_requests ${minRequests}` };
  }
  if (1 - errorRate < minMirrorMatch) return { verdict: 'fail', errorRate, reason: `mirror match rate ${rate} below min_mirror_match ${minMirrorMatch}` };
  return { verdict: 'pass', errorRate, reason: `mirror match rate ${rate} at least min_mirror_match ${minMirrorMatch}` };
}

/**
 * The rollout state machine. Pure: no timers, no I/O. The caller feeds it the time and
 * the new upstream's figures, applies `weight()` as the service's split after every
 * call, and arms a timer for `nextJudgementAt`.
 */
export class RolloutEngine {
  state: RolloutState = 'running';
  /** Index into plan.steps of the current step; -1 in the shadow phase. */
  step = 0;
  failures = 0;
  inconclusive = 0;
  /** Why the rollout is paused or ended, for people. */
  reason = '';
  readonly judgements: Judgement[] = [];
  /** When the current step's window ends; undefined while paused or ended. */
  nextJudgementAt: number | undefined;
  readonly startedAt: number;
  endedAt: number | undefined;

  constructor(
    readonly plan: RolloutPlan,
    now: number,
  ) {
    this.startedAt = now;
    this.enterStep(plan.analysis.minMirrorMatch === undefined ? 0 : -1, now);
  }

  /** True in the shadow phase: nothing moved yet, the mirror's answers judged. */
  get shadow(): boolean {
    return this.step < 0;
  }

  /** A rollout saved before a restart, continued (or held, per plan.onRestart, unless `resume`) from its step. */
  static restore(plan: RolloutPlan, saved: SavedProgress, now: number, resume = false): RolloutEngine {
    const e = new RolloutEngine(plan, saved.startedAt);
    e.failures = saved.failures;
    e.step = Math.max(plan.analysis.minMirrorMatch === undefined ? 0 : -1, Math.min(saved.step, plan.steps.length - 1));
    if (saved.state === 'paused' || (plan.onRestart === 'pause' && !resume)) {
      e.state = 'paused';
      e.reason = saved.state === 'paused' ? (saved.reason ?? 'paused') : 'restarted with on_restart: pause; resume to continue';
      e.nextJudgementAt = undefined;
    } else {
      e.enterStep(e.step, now);
    }
    return e;
  }

  /** What to save of this rollout while it is live. */
  progress(): SavedProgress | undefined {
    if (this.state !== 'running' && this.state !== 'paused') return undefined;
    return { step: this.step, state: this.state, failures: this.failures, startedAt: this.startedAt, reason: this.reason || undefined };
  }

  /** Percent of traffic on `plan.to` now: 0 once rolled back or aborted. */
  weight(): number {
    if (this.state === 'rolled_back' || this.state === 'aborted' || this.shadow) return 0;
    return this.plan.steps[this.step];
  }

  /** True once the rollout has ended one way or another. */
  get done(): boolean {
    return this.state === 'succeeded' || this.state === 'rolled_back' || this.state === 'aborted';
  }

  /**
   * The step's window has ended: judge it and move on, hold, or fail. `held` is why a gate
   * refused to let the rollout move on: a window that would pass is then inconclusive (a gate
   * never passes a step; a failing window still fails).
   */
  evaluate(now: number, window: WindowFigures, held?: string, measured?: MetricsVerdict): Judgement | undefined {
    if (this.state !== 'running' || this.nextJudgementAt === undefined || now < this.nextJudgementAt) return undefined;
    const judged = this.shadow ? judgeShadow(this.plan, window) : judge(this.plan, window);
    // A failure anywhere fails; else anything unsure (too little traffic, a query without data, a gate saying no) holds; else pass.
    const parts = [judged, ...(measured ? [measured] : []), ...(held !== undefined ? [{ verdict: 'inconclusive' as const, reason: held }] : [])];
    const worst = parts.find((p) => p.verdict === 'fail') ?? parts.find((p) => p.verdict === 'inconclusive') ?? judged;
    const reason = measured && worst !== measured ? `${worst.reason}; ${measured.reason}` : worst.reason;
    const { verdict } = worst;
    const errorRate = judged.errorRate;
    const j: Judgement = {
      at: now,
      step: this.step,
      weight: this.weight(),
      verdict,
      errorRate,
      reason,
      ...window,
      ...(measured ? { metrics: measured.values } : {}),
    };
    this.judgements.push(j);
    if (verdict === 'pass') this.passed(now);
    else if (verdict === 'fail') this.failed(now, reason);
    else this.waited(now, reason);
    return j;
  }

  /** Hold where it is; traffic stays split as it is. */
  pause(reason: string): void {
    if (this.state !== 'running') throw new Error(`cannot pause a rollout that is ${this.state}`);
    this.state = 'paused';
    this.reason = reason;
    this.nextJudgementAt = undefined;
  }

  /** Carry on from the current step, with a fresh window. */
  resume(now: number): void {
    if (this.state !== 'paused') throw new Error(`cannot resume a rollout that is ${this.state}`);
    if (this.atGate()) throw new Error('the rollout waits at its manual gate: promote it, or abort it');
    this.state = 'running';
    this.reason = '';
    this.inconclusive = 0;
    this.enterStep(this.step, now);
  }

  /** Jump to 100% now. */
  promote(now: number): void {
    if (this.done) throw new Error(`cannot promote a rollout that is ${this.state}`);
    this.finish('succeeded', now, 'promoted');
    this.step = this.plan.steps.length - 1;
  }

  /** Back to the start host at once. */
  abort(now: number, reason = 'aborted'): void {
    if (this.done) throw new Error(`cannot abort a rollout that is ${this.state}`);
    this.finish('aborted', now, reason);
  }

  /** Ended elsewhere (another instance of a fleet ended it): record how. */
  settle(state: 'succeeded' | 'rolled_back' | 'aborted', now: number, reason: string): void {
    if (!this.done) this.finish(state, now, reason);
  }

  /** The gates to ask before the next step: every `step` gate, and `promote` gates before the final one. */
  gatesDue(): readonly RolloutGate[] {
    if (this.state !== 'running' || this.plan.gates.length === 0) return [];
    const final = this.step + 1 === this.plan.steps.length - 1;
    return this.plan.gates.filter((g) => g.before === 'step' || final);
  }

  /** True while paused at a manual gate, before the final step. */
  atGate(): boolean {
    return this.state === 'paused' && this.plan.gate === 'manual' && this.step >= 0 && this.step === this.plan.steps.length - 2;
  }

  private passed(now: number): void {
    this.inconclusive = 0;
    const next = this.step + 1;
    if (next === this.plan.steps.length - 1 && this.plan.gate === 'manual') {
      this.pause(`gate: manual — ${this.shadow ? 'the shadow phase' : `step ${this.step + 1}`} passed; promote to send 100% to ${this.plan.to}`);
      return;
    }
    this.enterStep(next, now);
  }

  private failed(now: number, reason: string): void {
    this.inconclusive = 0;
    this.failures++;
    if (this.failures < this.plan.failureThreshold) {
      this.enterStep(this.step, now); // judge the same step again
      return;
    }
    const why = `${this.failures} failed judgement(s): ${reason}`;
    if (this.plan.onFailure === 'rollback') this.finish('rolled_back', now, why);
    else this.pause(why);
  }

  private waited(now: number, reason: string): void {
    this.inconclusive++;
    if (this.inconclusive >= this.plan.maxInconclusive) {
      this.pause(`${this.inconclusive} inconclusive judgements in a row (${reason}); resume when there is traffic, or promote or abort`);
      return;
    }
    this.enterStep(this.step, now);
  }

  private enterStep(step: number, now: number): void {
    this.step = step;
    if (step >= 0 && this.plan.steps[step] >= 100) {
      this.finish('succeeded', now, `reached 100% on ${this.plan.to}`);
      return;
    }
    this.nextJudgementAt = now + this.plan.intervalMs;
  }

  private finish(state: RolloutState, now: number, reason: string): void {
    this.state = state;
    this.reason = reason;
    this.nextJudgementAt = undefined;
    this.endedAt = now;
  }
}

function round(n: number): number {
  return Math.round(n * 10000) / 10000;
}
