import { NotFoundError } from '../errors.js';
import type { UpstreamRuntime } from '../snapshot.js';
import type { AdminContext } from './context.js';
import type { AdminRoute } from './router.js';
import { list, targetsView, upstreamView } from './views.js';

/** GET /upstreams, /upstreams/:name, /upstreams/:name/targets. */
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
  ];
}
