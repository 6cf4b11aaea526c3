/** What one probe or one proxied request says about a target. */
export type Outcome = 'success' | 'http_failure' | 'tcp_failure' | 'timeout';

/** How many consecutive outcomes of a kind flip the state; 0 disables that kind (Kong's meaning). */
export interface Thresholds {
  readonly successes: number;
  readonly http_failures: number;
  readonly tcp_failures: number;
  readonly timeouts: number;
}

/** Who last set a target's state, for the health API and the logs. */
export type HealthSource = 'initial' | 'active' | 'passive' | 'manual' | 'cooldown';

/**
 * One target's health, as lua-resty-healthcheck (Kong's checker) keeps it: a healthy
 * target counts failures of each kind and turns unhealthy when one reaches its
 * threshold; an unhealthy one counts successes and turns healthy at its threshold.
 * Any success clears the failure counts and any failure clears the success count.
 * Pure: no timers, no sockets.
 */
export class TargetHealth {
  healthy = true;
  source: HealthSource = 'initial';
  successes = 0;
  httpFailures = 0;
  tcpFailures = 0;
  timeouts = 0;

  constructor(readonly address: string) {}

  /** Count an outcome; true when it changed the state. */
  record(outcome: Outcome, t: Thresholds, source: HealthSource): boolean {
    if (outcome === 'success') {
      this.httpFailures = this.tcpFailures = this.timeouts = 0;
      this.successes++;
      return !this.healthy && t.successes > 0 && this.successes >= t.successes && this.set(true, source);
    }
    this.successes = 0;
    const count = outcome === 'http_failure' ? ++this.httpFailures : outcome === 'tcp_failure' ? ++this.tcpFailures : ++this.timeouts;
    const limit = outcome === 'http_failure' ? t.http_failures : outcome === 'tcp_failure' ? t.tcp_failures : t.timeouts;
    return this.healthy && limit > 0 && count >= limit && this.set(false, source);
  }

  /** Set the state outright (an operator's call, or a cool-down); true when it changed. */
  set(healthy: boolean, source: HealthSource): boolean {
    this.successes = this.httpFailures = this.tcpFailures = this.timeouts = 0;
    this.source = source;
    if (this.healthy === healthy) return false;
    this.healthy = healthy;
    return true;
  }
}
