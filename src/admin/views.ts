import { activeEnabled, passiveEnabled } from '../health/passive.js';
import { trafficOf, type ServiceRuntime, type UpstreamRuntime } from '../core/snapshot.js';

/** A service as the admin API shows it: its config, plus where its traffic goes now. */
export function serviceView(svc: ServiceRuntime): Record<string, unknown> {
  return { ...svc.config, traffic: trafficOf(svc) };
}

/** An upstream as the admin API shows it: its config and its targets with weight and health. */
export function upstreamView(up: UpstreamRuntime): Record<string, unknown> {
  return { ...(up.config ?? { name: up.name }), targets: targetsView(up) };
}

/**
 * An upstream's targets with Kong's health words, including weight-0 ones (draining: listed,
 * but sent nothing new). HEALTHCHECKS_OFF: no checks configured and no operator mark.
 */
export function targetsView(up: UpstreamRuntime): Record<string, unknown>[] {
  const checked = up.config !== undefined && (activeEnabled(up.config.healthchecks) || passiveEnabled(up.config.healthchecks));
  return up.pool.members.map(({ member, weight }) => {
    const h = member.health;
    const health = !h.healthy ? 'UNHEALTHY' : checked || h.source === 'manual' ? 'HEALTHY' : 'HEALTHCHECKS_OFF';
    return { target: member.address, weight, health, draining: weight === 0, data: { source: h.source } };
  });
}

/** Kong's list envelope. */
export function list<T>(data: T[]): { data: T[]; next: null } {
  return { data, next: null };
}
