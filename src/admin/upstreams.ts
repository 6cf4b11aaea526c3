import { target } from '../config/schema/config-schema.js';
import { checkBody } from '../config/schema/validate.js';
import type { UpstreamRuntime } from '../core/snapshot.js';
import { BadInputError, ConflictError, NotFoundError } from '../errors.js';
import type { AdminContext } from './context.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './router.js';
import { list, targetsView, upstreamView } from './views.js';

/** GET /upstreams, /upstreams/:name, its targets and health; manual health marks. */
export function upstreamRoutes(ctx: AdminContext): AdminRoute[] {
  const find = (name: string): UpstreamRuntime => {
    const up = ctx.pipeline.current.upstreams.get(name);
    if (!up?.config) throw new NotFoundError(`upstream "${name}" not found`);
    return up;
  };
  const declared = () => [...ctx.pipeline.current.upstreams.values()].filter((u) => u.config);
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
  ctx.health.set(member.member.health, healthy, 'manual', `by ${req.remoteAddress}`);
  ctx.log.info({ upstream: up.name, target: req.params.target, healthy, from: req.remoteAddress }, 'target health set by hand');
  return { status: 204 };
}

type TargetEntry = { target: string; weight: number };
const weightChange = target.pick(['weight']);

/** POST /upstreams/:name/targets, PATCH|DELETE /upstreams/:name/targets/:target (Kong's target API); bodies are checked by the config schema. */
export function targetRoutes(ctx: AdminContext): AdminRoute[] {
  const change = async (req: AdminRequest, status: number, edit: (targets: TargetEntry[]) => string): Promise<AdminResponse> => {
    const name = req.params.name;
    const upstream = ctx.pipeline.current.config.upstreams.find((u) => u.name === name);
    if (!upstream) throw new NotFoundError(`upstream "${name}" not found`);
    const targets = upstream.targets.map((t) => ({ ...t }));
    const detail = edit(targets);
    const applied = ctx.pipeline.apply({ kind: 'targets', upstream: name, targets, detail }, req.actor);
    const warnings = await ctx.pipeline.done(applied);
    const up = applied.snapshot.upstreams.get(name);
    if (!up) throw new NotFoundError(`upstream "${name}" not found`);
    return { status, body: warnings.length === 0 ? upstreamView(up) : { ...upstreamView(up), warnings } };
  };
  const find = (targets: TargetEntry[], req: AdminRequest): number => {
    const i = targets.findIndex((t) => t.target === req.params.target);
    if (i < 0) throw new NotFoundError(`target "${req.params.target}" not found in upstream ${req.params.name}`);
    return i;
  };
  return [
    {
      methods: ['POST'],
      path: '/upstreams/:name/targets',
      handler: (req) =>
        change(req, 201, (targets) => {
          const added = checkBody(target, req.body);
          if (targets.some((t) => t.target === added.target))
            throw new ConflictError(`target "${added.target}" is already in upstream ${req.params.name}; PATCH it instead`);
          targets.push(added);
          return `added ${added.target} (weight ${added.weight})`;
        }),
    },
    {
      methods: ['PATCH'],
      path: '/upstreams/:name/targets/:target',
      handler: (req) =>
        change(req, 200, (targets) => {
          // Kong clients send the target's own address back; it is not a change.
          const { target: _target, ...body } = req.body;
          const { weight } = checkBody(weightChange, body);
          if (typeof weight !== 'number') throw new BadInputError('nothing to change (allowed: weight)');
          const i = find(targets, req);
          targets[i].weight = weight;
          return `${targets[i].target} weight ${weight}`;
        }),
    },
    {
      methods: ['DELETE'],
      path: '/upstreams/:name/targets/:target',
      handler: (req) => change(req, 200, (targets) => `removed ${targets.splice(find(targets, req), 1)[0].target}`),
    },
  ];
}
