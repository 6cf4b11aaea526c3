import { TargetHealth, type HealthSource, type Outcome, type Thresholds } from './state.js';

/** Told once per state change (never per probe). */
export type TransitionListener = (health: TargetHealth, reason: string) => void;

/**
 * Health of every target address, kept outside the config snapshot so that a reload
 * keeps it. An address that leaves the config is forgotten, so removing and re-adding a
 * target starts it afresh instead of leaving it stuck (Kong issues #4864, #5581).
 */
export class HealthRegistry {
  private readonly states = new Map<string, TargetHealth>();
  private readonly listeners: TransitionListener[] = [];

  /** The health of an address, created healthy on first use. */
  get(address: string): TargetHealth {
    let h = this.states.get(address);
    if (!h) this.states.set(address, (h = new TargetHealth(address)));
    return h;
  }

  /** Count an outcome against an address; listeners hear of a change of state. `upstream` names whose thresholds `t` are. */
  record(health: TargetHealth, outcome: Outcome, t: Thresholds, source: HealthSource, detail: string, _upstream?: string): void {
    if (health.record(outcome, t, source)) this.emit(health, `${source} ${outcome}: ${detail}`);
  }

  /** Set an address's state outright; listeners hear of a change of state. */
  set(health: TargetHealth, healthy: boolean, source: HealthSource, detail: string): boolean {
    const changed = health.set(healthy, source);
    if (changed) this.emit(health, `${source}: ${detail}`);
    return changed;
  }

  /** Every address's health. */
  all(): IterableIterator<TargetHealth> {
    return this.states.values();
  }

  /** Forget addresses no longer in the config. */
  retain(addresses: ReadonlySet<string>): void {
    for (const address of this.states.keys()) if (!addresses.has(address)) this.states.delete(address);
  }

  /** Listen for changes of state. */
  onTransition(fn: TransitionListener): void {
    this.listeners.push(fn);
  }

  private emit(health: TargetHealth, reason: string): void {
    for (const l of this.listeners) l(health, reason);
  }
}
