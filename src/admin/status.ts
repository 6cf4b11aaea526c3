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
  const upstreams: Record<string, { healthy: number; total: number }> = {};
  for (const up of snap.upstreams.values()) {
    if (!up.config) continue;
    const members = up.pool.members.filter((m) => m.weight > 0);
    upstreams[up.name] = { healthy: members.filter((m) => m.member.healthy).length, total: members.length };
  }
  const dead = [...snap.services.values()].filter((s) => !s.upstreams.some((u) => u.pool.hasHealthy()));
  const reload = ctx.reloads;
  const rejected = reload?.last?.result === 'rejected';
  return {
    status: dead.length > 0 ? 'fail' : rejected ? 'warn' : 'pass',
    version: ctx.version,
    description: 'switchyard',
    details: {
      generation: snap.generation,
      config_hash: snap.hash,
      config_source: ctx.source,
      admin_changes: ctx.file?.describe() ?? 'kept in memory only',
      last_reload: reload?.last ?? null,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      upstreams,
      ...(ctx.workers ? ctx.workers.view() : {}),
      ...(dead.length > 0 ? { services_without_healthy_targets: dead.map((s) => s.name) } : {}),
    },
  };
}
