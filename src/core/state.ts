import type { Config } from './config/schema.js';
import type { SnapshotSource } from './proxy/server.js';
import type { RequestStatsStore } from './metrics/request-stats.js';
import { TrafficRecorders } from './rollout/window.js';
import { buildSnapshot, type Snapshot, type SnapshotDeps } from './snapshot.js';
import { systemClock, type Clock } from './clock.js';
import { ActiveChecker } from './health/active.js';
import { HealthRegistry } from './health/registry.js';
import { TargetRegistry } from './targets.js';

/** Told about every applied change, after the swap. */
export type ApplyListener = (next: Snapshot, previous: Snapshot) => void;

/**
 * The running config: the current snapshot and the one way to change it. Every change
 * (a reload, a switch, a rollout step) builds the next snapshot, swaps one reference,
 * then releases what only the old one held. A build that throws leaves the old serving.
 */
export class Runtime implements SnapshotSource, SnapshotDeps {
  readonly health = new HealthRegistry();
  readonly targets = new TargetRegistry(this.health);
  readonly active: ActiveChecker;
  readonly traffic = new TrafficRecorders();
  private snapshot: Snapshot;
  private readonly listeners: ApplyListener[] = [];

  constructor(config: Config, readonly clock: Clock = systemClock, readonly requestStats?: RequestStatsStore) {
    this.snapshot = buildSnapshot(config, this, 1);
    this.active = new ActiveChecker(this.health, clock);
    this.active.sync(config);
  }

  /** The snapshot requests starting now are served by. */
  get current(): Snapshot {
    return this.snapshot;
  }

  /** Apply a validated config; returns the new snapshot. */
  apply(config: Config): Snapshot {
    const previous = this.snapshot;
    const next = buildSnapshot(config, this, previous.generation + 1);
    this.snapshot = next;
    // Removed targets drain: undici's close() waits for their in-flight requests.
    void this.targets.retain(next.targets);
    this.active.sync(config);
    for (const l of this.listeners) l(next, previous);
    return next;
  }

  /** Call `fn` after every applied change. */
  onApply(fn: ApplyListener): void {
    this.listeners.push(fn);
  }

  /** Stop health checks and close every upstream connection. */
  close(): Promise<void> {
    this.active.close();
    return this.targets.close();
  }
}
