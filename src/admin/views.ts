import type { ServiceRuntime, Snapshot, UpstreamRuntime } from '../snapshot.js';

/** A service as the admin API shows it: its config, plus where its traffic goes now. */
export function serviceView(svc: ServiceRuntime): Record<string, unknown> {
  const total = svc.split.weights.reduce((sum, w) => sum + w.weight, 0);
  const traffic: Record<string, number> = {};
  for (const w of svc.split.weights) traffic[w.upstream.name] = total > 0 ? round2((100 * w.weight) / total) : 0;
  return { ...svc.config, traffic };
}

/** An upstream as the admin API shows it: its config and its targets with weight and health. */
export function upstreamView(up: UpstreamRuntime): Record<string, unknown> {
  return { ...(up.config ?? { name: up.name }), targets: targetsView(up) };
}

/** An upstream's targets, including weight-0 ones (listed as draining). */
export function targetsView(up: UpstreamRuntime): Record<string, unknown>[] {
  return up.pool.members.map((m) => ({
    target: m.member.address,
    weight: m.weight,
    health: m.weight === 0 ? 'DRAINING' : m.member.healthy ? 'HEALTHY' : 'UNHEALTHY',
  }));
}

/** Kong's list envelope. */
export function list<T>(data: T[]): { data: T[]; next: null } {
  return { data, next: null };
}

/** Names of the declared upstreams, for error messages. */
export function upstreamNames(snap: Snapshot): string[] {
  return snap.config.upstreams.map((u) => u.name);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
