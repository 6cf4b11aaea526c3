import { upstreamHealth } from '../core/snapshot.js';
import type { AdminContext } from './context.js';
import type { AdminRoute } from './router.js';

/**
 * GET /status, shaped like Tyk's /hello: pass, warn or fail, with the details an
 * operator needs to check that every instance runs the same config generation.
 */
export function statusRoutes(ctx: AdminContext): AdminRoute[] {
  return [{ methods: ['GET'], path: '/status', handler: () => ({ status: 200, body: status(ctx) }) }];
}

function status(ctx: AdminContext): Record<string, unknown> {
  const snap = ctx.pipeline.current;
  const upstreams = upstreamHealth(snap);
  const dead = [...snap.services.values()].filter((s) => !s.upstreams.some((u) => u.pool.hasHealthy()));
  const reload = ctx.reloads;
  const rejected = reload?.last?.result === 'rejected';
  const fleetProblem = ctx.fleet?.problem();
  const notifications = ctx.notifications?.() ?? [];
  const failing = notifications.some((n) => n.failing);
  return {
    status: dead.length > 0 ? 'fail' : rejected || fleetProblem !== undefined || failing ? 'warn' : 'pass',
    version: ctx.version,
    description: 'switchyard',
    details: {
      // In a fleet the generation is the fleet version: the same number on every instance once applied.
      generation: ctx.fleet ? ctx.fleet.version : snap.generation,
      ...(ctx.fleet ? { local_generation: snap.generation, fleet: { ...ctx.fleet.view(), ...(fleetProblem ? { problem: fleetProblem } : {}) } } : {}),
      config_hash: snap.hash,
      config_source: ctx.source,
      admin_changes: ctx.file?.describe() ?? 'kept in memory only',
      last_reload: reload?.last ?? null,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      upstreams,
      ...(notifications.length > 0 ? { notifications } : {}),
      ...(ctx.workers ? ctx.workers.view() : {}),
      ...(dead.length > 0 ? { services_without_healthy_targets: dead.map((s) => s.name) } : {}),
    },
  };
}
