import type { Clock, Timer } from '../clock.js';
import type { Config, RolloutBlock } from '../config/schema/config-schema.js';
import type { Change, PlannedEntry } from '../core/changes.js';
import type { Actor } from '../core/history.js';
import type { ChangePipeline } from '../core/pipeline.js';
import type { Snapshot } from '../core/snapshot.js';
import { type Reading, type TrafficSource, windowBetween } from '../core/traffic.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { mirrorTrafficKey } from '../mirror/stats.js';
import { type Judgement, type MetricsVerdict, RolloutEngine, type RolloutPlan } from './engine.js';
import { askGates } from './gates.js';
import { queryMetrics } from './prometheus.js';
import { blockOf, fromBlock } from './plan.js';

/** A rollout in progress (or the last one of a service), with what drives it. */
interface Live {
  readonly engine: RolloutEngine;
  /** The new upstream's counts when the current window opened. */
  reading: Reading;
  timer?: Timer;
  /** The weight last applied, so that only changes build a new snapshot. */
  applied: number;
}

const ROLLOUT: Actor = { via: 'rollout', by: 'rollout' };
/** How soon a judgement is tried again while the fleet takes no change. */
const BLOCKED_RETRY_MS = 500;
/** The history events that end a rollout, and the state each leaves it in. */
const ENDINGS = { rollout_succeeded: 'succeeded', rollout_rolled_back: 'rolled_back', rollout_aborted: 'aborted' } as const;
const RESTART: Actor = { via: 'restart', by: 'restart' };

/**
 * Wires rollout engines to the proxy: applies each step's split as a change through the
 * pipeline, reads the new upstream's traffic for each window, and runs the timers.
 * The engine itself decides; this only carries out.
 */
export class RolloutController {
  private readonly rollouts = new Map<string, Live>();
  /** Set at shutdown: no judgement or step after it. */
  private closed = false;

  /**
   * `leading`: whether this process runs the rollouts' timers. Alone it always does; in a
   * fleet only the leader does (lead()), and the others keep their engines in step with the
   * rollout blocks the fleet's versions carry (sync()), so that any instance can answer for,
   * pause, resume, promote or abort a rollout.
   */
  constructor(
    private readonly pipeline: ChangePipeline,
    private readonly traffic: TrafficSource,
    private readonly clock: Clock,
    private leading = true,
  ) {
    pipeline.observe((change, next, actor) => this.changed(change, next, actor));
  }

  /** Start a rollout; 409 if one is already running for the service, 400 if its plan does not validate. */
  start(plan: RolloutPlan, actor: Actor): RolloutEngine {
    const current = this.rollouts.get(plan.service);
    if (current && !current.engine.done) {
      throw new ConflictError(`a rollout of ${plan.service} to ${current.engine.plan.to} is ${current.engine.state}; abort it first`);
    }
    const engine = new RolloutEngine(plan, this.clock.now());
    const live: Live = { engine, reading: this.reading(engine), applied: -1 };
    // The first step is validated like the file's `rollout:` block; a bad plan leaves nothing behind.
    this.save(live, actor, `to ${plan.to} in steps ${plan.steps.join(' → ')}% every ${plan.intervalMs} ms`);
    this.rollouts.set(plan.service, live);
    this.arm(live);
    return engine;
  }

  /** Check a plan as its first step would be applied: throws the 400 or 409 that start() would, changing nothing. */
  check(plan: RolloutPlan, actor: Actor): void {
    const first = stepChange(new RolloutEngine(plan, this.clock.now()));
    if (first) this.pipeline.check(first, actor);
  }

  /** The current or last rollout of a service. */
  get(service: string): RolloutEngine {
    const live = this.rollouts.get(service);
    if (!live) throw new NotFoundError(`service "${service}" has no rollout`);
    return live.engine;
  }

  /** The current or last rollout of a service, if it had one. */
  find(service: string): RolloutEngine | undefined {
    return this.rollouts.get(service)?.engine;
  }

  /** True while a rollout of the service is running or paused. */
  active(service: string): boolean {
    const live = this.rollouts.get(service);
    return live !== undefined && !live.engine.done;
  }

  /** pause | resume | promote | abort, as the admin API names them. */
  command(service: string, action: 'pause' | 'resume' | 'promote' | 'abort', actor: Actor): RolloutEngine {
    const live = this.rollouts.get(service);
    if (!live) throw new NotFoundError(`service "${service}" has no rollout`);
    const e = live.engine;
    const now = this.clock.now();
    // In a fleet whose store is unreachable, the engine must not move: its change could not be recorded.
    this.pipeline.requireShared(actor);
    // Pause and resume write the rollout's progress: refuse them before the engine moves if it could not be kept.
    const step = stepChange(e);
    if ((action === 'pause' || action === 'resume') && step) this.pipeline.requireKeepable(step, actor);
    try {
      if (action === 'pause') e.pause(`paused by ${actor.by}`);
      else if (action === 'resume') e.resume(now);
      else if (action === 'promote') e.promote(now);
      else e.abort(now, `aborted by ${actor.by}`);
    } catch (err) {
      // The engine refuses a command that does not fit its state (resume while running): a conflict.
      throw new ConflictError(err instanceof Error ? err.message : String(err));
    }
    if (action === 'resume') live.reading = this.reading(e);
    if (action === 'pause') this.pipeline.note(service, 'rollout_paused', actor, e.reason);
    if (action === 'resume') this.pipeline.note(service, 'rollout_resumed', actor);
    this.apply(live, actor);
    return e;
  }

  /** At start-up: take up the rollouts a config carries, from their saved step. */
  restore(config: Config): void {
    for (const svc of config.services) {
      if (!svc.rollout || this.active(svc.name)) continue;
      const { plan, progress } = fromBlock(svc.name, svc.host, svc.rollout);
      const engine = RolloutEngine.restore(plan, progress, this.clock.now());
      const live: Live = { engine, reading: this.reading(engine), applied: engine.weight() };
      this.rollouts.set(svc.name, live);
      this.pipeline.note(
        svc.name,
        engine.state === 'paused' ? 'rollout_paused' : 'rollout_resumed',
        RESTART,
        `restored at ${stepName(engine.step)} (${engine.weight()}% to ${plan.to})`,
      );
      this.apply(live, RESTART);
    }
  }

  /** Stop every timer (shutdown). Rollouts stay as they are. */
  close(): void {
    this.closed = true;
    this.follow();
  }

  /**
   * This instance now leads the fleet: take up every rollout from the step its block saved,
   * each with a fresh window (the traffic source was brought up to date first), so that no
   * step is skipped or judged twice by a new leader.
   */
  lead(by: string): void {
    this.leading = true;
    for (const svc of this.pipeline.current.config.services) {
      if (svc.rollout?.state !== 'running') continue;
      const live = this.rebuild(svc.name, svc.host, svc.rollout);
      this.pipeline.note(svc.name, 'rollout_resumed', { via: 'fleet', by }, `taken up by the fleet's leader at ${stepName(live.engine.step)}`);
    }
  }

  /** Another instance leads (or none can): no timers here. */
  follow(): void {
    this.leading = false;
    for (const live of this.rollouts.values()) {
      if (live.timer) this.clock.clearTimeout(live.timer);
      live.timer = undefined;
    }
  }

  /**
   * A fleet version arrived: make each engine match the rollout block it carries. A block
   * that changed (a step, a pause elsewhere) rebuilds the engine from it; a block that is gone
   * ended the rollout on another instance, and the service's host says how.
   */
  sync(config: Config, entries: readonly PlannedEntry[] = []): void {
    for (const svc of config.services) {
      const live = this.rollouts.get(svc.name);
      if (svc.rollout) {
        if (!live || live.engine.done || !sameBlock(blockOf(live.engine), svc.rollout)) this.rebuild(svc.name, svc.host, svc.rollout);
      } else if (live && !live.engine.done) {
        if (live.timer) this.clock.clearTimeout(live.timer);
        live.timer = undefined;
        // The instance that ended it said how (its history entry); else the host it left says which end.
        const entry = entries.find((e) => e.service === svc.name && e.event in ENDINGS);
        const ended = entry ? ENDINGS[entry.event as keyof typeof ENDINGS] : svc.host === live.engine.plan.to ? 'succeeded' : 'aborted';
        live.engine.settle(ended, this.clock.now(), entry?.detail ?? `${ended} on another instance of the fleet`);
      }
    }
  }

  /** An engine made from a saved block, continuing at its step (a fleet's rollout goes on whichever instance leads). */
  private rebuild(service: string, host: string, block: RolloutBlock): Live {
    const old = this.rollouts.get(service);
    if (old?.timer) this.clock.clearTimeout(old.timer);
    const { plan, progress } = fromBlock(service, host, block);
    // Not a restart: the rollout goes on whatever its on_restart says.
    const engine = RolloutEngine.restore(plan, progress, this.clock.now(), true);
    const live: Live = { engine, reading: this.reading(engine), applied: engine.weight() };
    this.rollouts.set(service, live);
    this.arm(live);
    return live;
  }

  /**
   * A whole new config (a hand edit, POST /config): a rollout whose block is gone stops,
   * leaving traffic as the new config says; POST /config also takes up the rollouts it carries.
   */
  private changed(change: Change, next: Snapshot, actor: Actor): void {
    if (change.kind !== 'config') return;
    if (actor.via === 'fleet') {
      this.sync(next.config, change.entries);
      return;
    }
    for (const [service, live] of this.rollouts) {
      if (live.engine.done) continue;
      const svc = next.config.services.find((s) => s.name === service);
      if (svc?.rollout) continue;
      if (live.timer) this.clock.clearTimeout(live.timer);
      live.timer = undefined;
      live.engine.abort(this.clock.now(), 'removed from the config by hand; traffic is as the new config says');
      if (svc) this.pipeline.note(service, 'rollout_aborted', actor, live.engine.reason);
    }
    if (actor.via === 'admin') this.restore(next.config);
  }

  /** A window ended: with workers, collect their latest counts first, then judge. */
  private tick(service: string): void {
    const live = this.rollouts.get(service);
    if (!live || !this.leading) return;
    live.timer = undefined;
    // A fleet that takes no change now could not record the step: judge once it can, never judge and lose it.
    if (this.pipeline.sharedBlocked() !== undefined) {
      live.timer = this.clock.setTimeout(() => this.tick(service), BLOCKED_RETRY_MS);
      return;
    }
    const refresh = this.traffic.refresh?.();
    const gates = live.engine.gatesDue();
    // In the shadow phase nothing reaches the new upstream yet: its Prometheus queries would have no data.
    const metrics = live.engine.plan.analysis.metrics.length > 0 && !live.engine.shadow;
    if (!refresh && gates.length === 0 && !metrics) {
      this.judge(live);
      return;
    }
    const due = live.engine.nextJudgementAt;
    // A command (pause, abort, a new rollout) while the counts, the gates' or Prometheus's answers were on their way has dealt with this window already.
    void Promise.all([refresh, gates.length > 0 ? askGates(gates, live.engine) : undefined, metrics ? queryMetrics(live.engine) : undefined]).then(
      ([, held, measured]) => {
        // A leader deposed meanwhile leaves the window to the next one.
        if (!this.closed && this.leading && this.rollouts.get(service) === live && live.timer === undefined && live.engine.nextJudgementAt === due)
          this.judge(live, held, measured);
      },
    );
  }

  /** Judge the window that ended (held back by a gate's refusal, if any), then carry out what the engine decided. */
  private judge(live: Live, held?: string, measured?: MetricsVerdict): void {
    const e = live.engine;
    const service = e.plan.service;
    try {
      const shadow = e.shadow;
      const end = this.reading(e);
      const judgement = e.evaluate(this.clock.now(), windowBetween(live.reading, end), held, measured);
      // A timer may fire a millisecond before the wall clock says the window ended: then nothing
      // was judged, and the window must keep counting from where it began.
      if (judgement) {
        // Out of the shadow phase, windows count the new upstream's traffic instead of the mirror's pairs.
        live.reading = shadow === e.shadow ? end : this.reading(e);
        this.pipeline.note(service, 'rollout_judgement', ROLLOUT, describe(judgement), judgement.verdict);
      }
      if (e.state === 'paused') this.pipeline.note(service, 'rollout_paused', ROLLOUT, e.reason);
      this.apply(live, ROLLOUT);
    } catch (err) {
      // A step that cannot be applied (the config changed under the rollout) holds for a person; it never crashes the proxy.
      if (e.state === 'running') e.pause(`could not apply the next step: ${err instanceof Error ? err.message : String(err)}`);
      this.pipeline.note(service, 'rollout_paused', ROLLOUT, e.reason);
    }
  }

  /**
   * Make the service's config match the engine (split and saved progress), record it, and
   * arm the next window's timer. Ends are switches: all traffic to one upstream.
   */
  private apply(live: Live, actor: Actor): void {
    const e = live.engine;
    const { service, from, to } = e.plan;
    if (e.state === 'succeeded') this.pipeline.apply({ kind: 'switch', service, to, event: 'rollout_succeeded', detail: e.reason }, actor);
    else if (e.state === 'aborted') this.pipeline.apply({ kind: 'switch', service, to: from, event: 'rollout_aborted', detail: e.reason }, actor);
    else if (e.state === 'rolled_back') this.pipeline.apply({ kind: 'switch', service, to: from, event: 'rollout_rolled_back', detail: e.reason }, actor);
    else this.save(live, actor);
    this.arm(live);
  }

  /** A timer for the next judgement, if the engine wants one. */
  private arm(live: Live): void {
    const e = live.engine;
    if (live.timer) this.clock.clearTimeout(live.timer);
    live.timer = undefined;
    if (e.nextJudgementAt !== undefined && this.leading && !this.closed) {
      live.timer = this.clock.setTimeout(() => this.tick(e.plan.service), Math.max(0, e.nextJudgementAt - this.clock.now()));
    }
  }

  /** Write the live rollout's split and progress into the config (a change only if they differ). */
  private save(live: Live, actor: Actor, startDetail?: string): void {
    const e = live.engine;
    const weight = e.weight();
    const change = stepChange(e);
    const current = this.pipeline.current.config.services.find((s) => s.name === e.plan.service);
    if (change === undefined || (current && same(current.split, change.split) && same(current.rollout, change.block))) return;
    const event = live.applied < 0 ? 'rollout_started' : weight !== live.applied ? 'rollout_step' : undefined;
    const detail = live.applied < 0 ? startDetail : `${stepName(e.step)}: ${weight}% to ${e.plan.to}`;
    this.pipeline.apply({ ...change, event, detail }, actor);
    live.applied = weight;
  }

  /** The counts a rollout's window is judged on: the new upstream's traffic, or in the shadow phase the mirror's compared pairs. */
  private reading(e: RolloutEngine): Reading {
    return this.traffic.read(e.shadow ? mirrorTrafficKey(e.plan.service) : e.plan.to);
  }
}

/** The change that writes a rollout's split and progress into its service. */
function stepChange(e: RolloutEngine): Extract<Change, { kind: 'rollout' }> | undefined {
  const { service, from, to } = e.plan;
  const weight = e.weight();
  const block = blockOf(e);
  // The new upstream goes last, so sticky clients only ever move to it (see Split).
  return block && { kind: 'rollout', service, split: { [from]: 100 - weight, [to]: weight }, block };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Two rollout blocks alike, whatever the order of their keys (one built here, one read from a config). */
function sameBlock(a: RolloutBlock | undefined, b: RolloutBlock): boolean {
  return a !== undefined && canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v,
  );
}

function describe(j: Judgement): string {
  const p99 = j.p99Ms === undefined ? 'n/a' : `${j.p99Ms} ms`;
  if (j.step < 0) return `shadow (0%): ${j.verdict} — ${j.requests} mirrored pairs compared, ${j.errors} did not match; ${j.reason}`;
  return `step ${j.step + 1} (${j.weight}%): ${j.verdict} — ${j.requests} requests, ${j.errors} errors, p99 ${p99}; ${j.reason}`;
}

/** A step as people read it: "shadow" before step 1. */
function stepName(step: number): string {
  return step < 0 ? 'the shadow phase' : `step ${step + 1}`;
}
