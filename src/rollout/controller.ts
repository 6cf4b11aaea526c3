import type { Timer } from '../clock.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { Switchboard } from '../switchboard.js';
import { RolloutEngine, type Judgement, type RolloutPlan } from './engine.js';
import type { Draft } from '../config/edit.js';
import type { Config, RolloutBlock } from '../config/schema.js';
import { blockOf, fromBlock } from './plan.js';
import { windowBetween, type Reading } from './window.js';

/** A rollout in progress (or the last one of a service), with what drives it. */
interface Live {
  readonly engine: RolloutEngine;
  /** The new upstream's counts when the current window opened. */
  reading: Reading;
  timer?: Timer;
  /** The weight last applied, so that only changes build a new snapshot. */
  applied: number;
}

/**
 * Wires rollout engines to the proxy: applies each step's split through the
 * switchboard, reads the new upstream's traffic for each window, and runs the timers.
 * The engine itself decides; this only carries out.
 */
export class RolloutController {
  private readonly rollouts = new Map<string, Live>();

  constructor(private readonly runtime: Runtime, private readonly switchboard: Switchboard) {}

  /** Start a rollout; 409 if one is already running for the service. */
  start(plan: RolloutPlan, by: string): RolloutEngine {
    const current = this.rollouts.get(plan.service);
    if (current && !current.engine.done) {
      throw new ConflictError(`a rollout of ${plan.service} to ${current.engine.plan.to} is ${current.engine.state}; abort it first`);
    }
    const engine = new RolloutEngine(plan, this.runtime.clock.now());
    const live: Live = { engine, reading: this.reading(plan.to), applied: -1 };
    this.rollouts.set(plan.service, live);
    this.apply(live, by, `to ${plan.to} in steps ${plan.steps.join(' → ')}% every ${plan.intervalMs} ms`);
    return engine;
  }

  /** The current or last rollout of a service. */
  get(service: string): RolloutEngine {
    const live = this.rollouts.get(service);
    if (!live) throw new NotFoundError(`service "${service}" has no rollout`);
    return live.engine;
  }

  /** True while a rollout of the service is running or paused. */
  active(service: string): boolean {
    const live = this.rollouts.get(service);
    return live !== undefined && !live.engine.done;
  }

  /** pause | resume | promote | abort, as the admin API names them. */
  command(service: string, action: 'pause' | 'resume' | 'promote' | 'abort', by: string): RolloutEngine {
    const live = this.rollouts.get(service);
    if (!live) throw new NotFoundError(`service "${service}" has no rollout`);
    const e = live.engine;
    const now = this.runtime.clock.now();
    try {
      if (action === 'pause') e.pause(`paused by ${by}`);
      else if (action === 'resume') e.resume(now);
      else if (action === 'promote') e.promote(now);
      else e.abort(now, `aborted by ${by}`);
    } catch (err) {
      throw new ConflictError((err as Error).message);
    }
    if (action === 'resume') live.reading = this.reading(e.plan.to);
    if (action === 'pause') this.switchboard.note(service, 'rollout_paused', by, e.reason);
    if (action === 'resume') this.switchboard.note(service, 'rollout_resumed', by);
    this.apply(live, by);
    return e;
  }

  /** At start-up: take up the rollouts a config carries, from their saved step. */
  restore(config: Config): void {
    for (const svc of config.services) {
      if (!svc.rollout || this.active(svc.name)) continue;
      const { plan, progress } = fromBlock(svc.name, svc.host, svc.rollout);
      const engine = RolloutEngine.restore(plan, progress, this.runtime.clock.now());
      const live: Live = { engine, reading: this.reading(plan.to), applied: engine.weight() };
      this.rollouts.set(svc.name, live);
      this.switchboard.note(svc.name, engine.state === 'paused' ? 'rollout_paused' : 'rollout_resumed', 'restart', `restored at step ${engine.step + 1} (${engine.weight()}% to ${plan.to})`);
      this.apply(live, 'restart');
    }
  }

  /** After a hand edit on disk: a rollout whose block was removed stops, leaving traffic as the file says. */
  reconcile(config: Config): void {
    for (const [service, live] of this.rollouts) {
      if (live.engine.done) continue;
      const svc = config.services.find((s) => s.name === service);
      if (svc?.rollout) continue;
      if (live.timer) this.runtime.clock.clearTimeout(live.timer);
      live.timer = undefined;
      live.engine.abort(this.runtime.clock.now(), 'removed from the config file by hand; traffic is as the file says');
      if (svc) this.switchboard.note(service, 'rollout_aborted', 'config file', live.engine.reason);
    }
  }

  /** Stop every timer (shutdown). Rollouts stay as they are. */
  close(): void {
    for (const live of this.rollouts.values()) if (live.timer) this.runtime.clock.clearTimeout(live.timer);
  }

  /** A window ended: judge it, then carry out what the engine decided. */
  private tick(service: string): void {
    const live = this.rollouts.get(service);
    if (!live) return;
    live.timer = undefined;
    const e = live.engine;
    try {
      const end = this.reading(e.plan.to);
      const judgement = e.evaluate(this.runtime.clock.now(), windowBetween(live.reading, end));
      // A timer may fire a millisecond before the wall clock says the window ended: then nothing
      // was judged, and the window must keep counting from where it began.
      if (judgement) {
        live.reading = end;
        this.switchboard.note(service, 'rollout_judgement', 'rollout', describe(judgement), judgement.verdict);
      }
      if (e.state === 'paused') this.switchboard.note(service, 'rollout_paused', 'rollout', e.reason);
      this.apply(live, 'rollout');
    } catch (err) {
      // A step that cannot be applied (the config changed under the rollout) holds for a person; it never crashes the proxy.
      if (e.state === 'running') e.pause(`could not apply the next step: ${(err as Error).message}`);
      this.switchboard.note(service, 'rollout_paused', 'rollout', e.reason);
    }
  }

  /**
   * Make the service's config match the engine (split and saved progress), record it,
   * and arm the next window's timer. Ends go through the switchboard as switches.
   */
  private apply(live: Live, by: string, startDetail?: string): void {
    const e = live.engine;
    const { service, from, to } = e.plan;
    if (e.state === 'succeeded') this.switchboard.switchTo(service, to, by, 'rollout_succeeded', e.reason);
    else if (e.state === 'aborted') this.switchboard.switchTo(service, from, by, 'rollout_aborted', e.reason);
    else if (e.state === 'rolled_back') this.switchboard.switchTo(service, from, by, 'rollout_rolled_back', e.reason);
    else this.save(live, by, startDetail);
    if (live.timer) this.runtime.clock.clearTimeout(live.timer);
    live.timer = undefined;
    if (e.nextJudgementAt !== undefined) {
      live.timer = this.runtime.clock.setTimeout(() => this.tick(service), Math.max(0, e.nextJudgementAt - this.runtime.clock.now()));
    }
  }

  /** Write the live rollout's split and progress into the config (a new snapshot only if they changed). */
  private save(live: Live, by: string, startDetail?: string): void {
    const e = live.engine;
    const { service, from, to } = e.plan;
    const weight = e.weight();
    // The new upstream goes last, so sticky clients only ever move to it (see Split).
    const split = { [from]: 100 - weight, [to]: weight };
    const block = blockOf(e);
    const current = this.runtime.current.config.services.find((s) => s.name === service);
    if (current && same(current.split, split) && same(current.rollout, block)) return;
    const stepped = weight !== live.applied;
    const event = live.applied < 0 ? 'rollout_started' : stepped ? 'rollout_step' : undefined;
    const detail = live.applied < 0 ? startDetail : `step ${e.step + 1}: ${weight}% to ${to}`;
    this.switchboard.change(service, (s) => {
      s.split = split;
      s.rollout = block as Draft<RolloutBlock>;
    }, event, by, detail);
    live.applied = weight;
  }

  private reading(upstream: string): Reading {
    return this.runtime.traffic.get(upstream).read();
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(j: Judgement): string {
  const p99 = j.p99Ms === undefined ? 'n/a' : `${j.p99Ms} ms`;
  return `step ${j.step + 1} (${j.weight}%): ${j.verdict} — ${j.requests} requests, ${j.errors} errors, p99 ${p99}; ${j.reason}`;
}
