import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/schema/config-schema.js';
import { ActiveChecker } from '../health/active.js';
import { HealthRegistry } from '../health/registry.js';
import type { RequestStatsStore } from './request-stats.js';
import { buildSnapshot, type Snapshot, type SnapshotDeps } from './snapshot.js';
import { TargetRegistry } from './targets.js';
import { TrafficRecorders } from './traffic.js';
import { MirrorRegistry } from '../mirror/stats.js';

/** Where the proxy reads the running snapshot from: one reference, swapped whole. */
export interface SnapshotSource {
  readonly current: Snapshot;
}

/**
 * The proxy's running state: the current snapshot, and what outlives snapshots — targets
 * and their keep-alive pools, health, traffic windows and request counters, all keyed by
 * name or address. Only the change pipeline swaps the snapshot.
 */
export class ProxyState implements SnapshotSource, SnapshotDeps {
  readonly health: HealthRegistry;
  readonly targets: TargetRegistry;
  /** Undefined in a worker: health is probed once, by the primary. */
  readonly active?: ActiveChecker;
  readonly traffic = new TrafficRecorders();
  readonly mirrors = new MirrorRegistry();
  private snapshot: Snapshot;

  constructor(
    config: Config,
    readonly clock: Clock = systemClock,
    readonly requestStats?: RequestStatsStore,
    replica?: { readonly generation: number; readonly health: HealthRegistry },
  ) {
    this.health = replica?.health ?? new HealthRegistry();
    this.targets = new TargetRegistry(this.health);
    this.snapshot = buildSnapshot(config, this, replica?.generation ?? 1);
    if (replica) return;
    this.active = new ActiveChecker(this.health, clock);
    this.active.sync(config);
  }

  /** The snapshot requests starting now are served by. */
  get current(): Snapshot {
    return this.snapshot;
  }

  /**
   * Build the next snapshot from a validated config, swap it in, then release what only the
   * old one held. A build that throws leaves the old one serving. A worker swaps in the
   * primary's generation number; the primary counts up.
   */
  swap(config: Config, generation = this.snapshot.generation + 1): Snapshot {
    const next = buildSnapshot(config, this, generation);
    this.snapshot = next;
    // Removed targets drain: undici's close() waits for their in-flight requests.
    void this.targets.retain(next.targets);
    this.active?.sync(config);
    return next;
  }

  /** Stop health checks and close every upstream connection. */
  close(): Promise<void> {
    this.active?.close();
    return this.targets.close();
  }
}
