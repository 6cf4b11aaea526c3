import { NotFoundError } from '../errors.js';
import type { UpstreamRuntime } from '../snapshot.js';
import type { AdminContext } from './context.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './router.js';
import { list, targetsView, upstreamView } from './views.js';

/** GET /upstreams, /upstreams/:name, its targets and health; manual health marks. */
export function upstreamRoutes(ctx: AdminContext): AdminRoute[] {
  const find = (name: string): UpstreamRuntime => {
    const up = ctx.runtime.current.upstreams.get(name);
    if (!up || !up.config) throw new NotFoundError(`upstream "${name}" not found`);
    return up;
  };
  const declared = () => [...ctx.runtime.current.upstreams.values()].filter((u) => u.config);
  return [
    { methods: ['GET'], path: '/upstreams', handler: () => ({ status: 200, body: list(declared().map(upstreamView)) }) },
    { methods: ['GET'], path: '/upstreams/:name', handler: (req) => ({ status: 200, body: upstreamView(find(req.params.name)) }) },
    { methods: ['GET'], path: '/upstreams/:name/targets', handler: (req) => ({ status: 200, body: list(targetsView(find(req.params.name))) }) },
    { methods: ['GET'], path: '/upstreams/:name/health', handler: (req) => ({ status: 200, body: list(targetsView(find(req.params.name))) }) },
    { methods: ['POST', 'PUT'], path: '/upstreams/:name/targets/:target/healthy', handler: (req) => mark(ctx, find(req.params.name), req, true) },
    { methods: ['POST', 'PUT'], path: '/upstreams/:name/targets/:target/unhealthy', handler: (req) => mark(ctx, find(req.params.name), req, false) },
  ];
}

/** Kong's manual health override: holds until the next active probe result says otherwise. */
function mark(ctx: AdminContext, up: UpstreamRuntime, req: AdminRequest, healthy: boolean): AdminResponse {
  const member = up.pool.members.find((m) => m.member.address === req.params.target);
  if (!member) {
    const known = up.pool.members.map((m) => m.member.address).join(', ');
    throw new NotFoundError(`target "${req.params.target}" not found in upstream ${up.name} (targets: ${known || 'none'})`);
  }
  ctx.runtime.health.set(member.member.health, healthy, 'manual', `by ${req.remoteAddress}`);
  ctx.log.info({ upstream: up.name, target: req.params.target, healthy, from: req.remoteAddress }, 'target health set by hand');
  return { status: 204 };
}
