import { editConfig } from '../config/edit.js';
import { validateConfig } from '../config/parse.js';
import { withDefaultPort } from '../config/schema.js';
import { BadInputError, ConflictError, NotFoundError } from '../errors.js';
import type { UpstreamRuntime } from '../snapshot.js';
import type { AdminContext } from './context.js';
import { integer } from './input.js';
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

/** POST /upstreams/:name/targets, PATCH|DELETE /upstreams/:name/targets/:target (Kong's target API). */
export function targetRoutes(ctx: AdminContext): AdminRoute[] {
  const change = (req: AdminRequest, status: number, edit: (targets: { target: string; weight: number }[]) => void): AdminResponse => {
    const name = req.params.name;
    const config = ctx.runtime.current.config;
    const index = config.upstreams.findIndex((u) => u.name === name);
    if (index < 0) throw new NotFoundError(`upstream "${name}" not found`);
    const checked = validateConfig(editConfig(config, (draft) => edit(draft.upstreams[index].targets)));
    if (!checked.ok) throw new BadInputError(checked.errors.join('; '), { targets: checked.errors });
    const snap = ctx.runtime.apply(checked.config);
    ctx.log.info({ upstream: name, targets: checked.config.upstreams[index].targets, from: req.remoteAddress, generation: snap.generation }, 'targets changed');
    return { status, body: upstreamView(snap.upstreams.get(name)!) };
  };
  const find = (targets: { target: string }[], req: AdminRequest): number => {
    const i = targets.findIndex((t) => t.target === req.params.target);
    if (i < 0) throw new NotFoundError(`target "${req.params.target}" not found in upstream ${req.params.name}`);
    return i;
  };
  return [
    {
      methods: ['POST'], path: '/upstreams/:name/targets',
      handler: (req) => change(req, 201, (targets) => {
        const { weight } = req.body;
        if (typeof req.body.target !== 'string') throw new BadInputError('target: expected "HOST:PORT"', { target: 'required' });
        const target = withDefaultPort(req.body.target.trim());
        if (targets.some((t) => t.target === target)) throw new ConflictError(`target "${target}" is already in upstream ${req.params.name}; PATCH it instead`);
        targets.push({ target, weight: weight === undefined ? 100 : integer(weight, 'weight', 0, 65535) });
      }),
    },
    {
      methods: ['PATCH'], path: '/upstreams/:name/targets/:target',
      handler: (req) => change(req, 200, (targets) => {
        targets[find(targets, req)].weight = integer(req.body.weight, 'weight', 0, 65535);
      }),
    },
    {
      methods: ['DELETE'], path: '/upstreams/:name/targets/:target',
      handler: (req) => change(req, 200, (targets) => void targets.splice(find(targets, req), 1)),
    },
  ];
}
