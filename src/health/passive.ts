import type { Clock } from '../clock.js';
import type { Healthchecks } from '../config/schema/config-schema.js';
import type { HealthRegistry } from './registry.js';
import type { Outcome, Thresholds } from './state.js';
import type { TargetHealth } from './state.js';

/** A status lookup table: one array index instead of a search per proxied response. */
function statusTable(statuses: readonly number[]): Uint8Array {
  const table = new Uint8Array(1000);
  for (const s of statuses) table[s] = 1;
  return table;
}

/** True when the passive settings can eject a target at all. */
export function passiveEnabled(hc: Healthchecks): boolean {
  const u = hc.passive.unhealthy;
  return u.http_failures > 0 || u.tcp_failures > 0 || u.timeouts > 0;
}

/** True when active probes run in at least one state. */
export function activeEnabled(hc: Healthchecks): boolean {
  return hc.active.healthy.interval > 0 || hc.active.unhealthy.interval > 0;
}

/**
 * Passive checks (a circuit breaker) for one upstream: proxied outcomes are counted with
 * Kong's thresholds. With active checks on, they bring an ejected target back; with
 * passive checks alone, it gets traffic again after `passive.cooldown` seconds.
 */
export class PassiveMonitor {
  private readonly unhealthyStatus: Uint8Array;
  private readonly healthyStatus: Uint8Array;
  private readonly thresholds: Thresholds;
  private readonly cooldownMs: number;

  constructor(
    hc: Healthchecks,
    private readonly registry: HealthRegistry,
    private readonly clock: Clock,
    /** The upstream's name, so that a worker can tell the primary whose thresholds apply. */
    readonly upstream: string,
  ) {
    const p = hc.passive;
    this.unhealthyStatus = statusTable(p.unhealthy.http_statuses);
    this.healthyStatus = statusTable(p.healthy.http_statuses);
    this.thresholds = { successes: p.healthy.successes, ...p.unhealthy };
    this.cooldownMs = activeEnabled(hc) ? 0 : p.cooldown * 1000;
  }

  /** Count a response status; statuses in neither list say nothing. */
  status(health: TargetHealth, status: number): void {
    if (status < 1000 && this.unhealthyStatus[status] === 1) this.count(health, 'http_failure', `status ${status}`);
    else if (status < 1000 && this.healthyStatus[status] === 1) this.count(health, 'success', `status ${status}`);
  }

  /** Count a failed exchange: a connect error or a timeout. */
  failure(health: TargetHealth, outcome: 'tcp_failure' | 'timeout', detail: string): void {
    this.count(health, outcome, detail);
  }

  /** Count one outcome (in the primary, also each outcome a worker reports). */
  count(health: TargetHealth, outcome: Outcome, detail: string): void {
    const wasHealthy = health.healthy;
    // The common case, a success on a healthy target with no failures counted, changes nothing.
    if (outcome === 'success' && wasHealthy && health.httpFailures + health.tcpFailures + health.timeouts === 0) return;
    this.registry.record(health, outcome, this.thresholds, 'passive', detail, this.upstream);
    if (wasHealthy && !health.healthy && this.cooldownMs > 0) this.scheduleReturn(health);
  }

  private scheduleReturn(health: TargetHealth): void {
    this.clock.setTimeout(() => {
      if (!health.healthy && health.source === 'passive') {
        this.registry.set(health, true, 'cooldown', `after ${this.cooldownMs / 1000}s out of rotation`);
      }
    }, this.cooldownMs);
  }
}
