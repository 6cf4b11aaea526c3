import { serviceFields } from '../config/schema/config-schema.js';
import { Optional } from '../config/schema/dsl.js';
import { checkBody } from '../config/schema/validate.js';
import type { ServiceRuntime } from '../core/snapshot.js';
import { BadInputError, ConflictError, NotFoundError } from '../errors.js';
import type { AdminContext } from './context.js';
import { isForced } from './rollouts.js';
import { type AdminRequest, type AdminResponse, type AdminRoute, etagOf, requireMatch } from './router.js';
import { list, serviceView } from './views.js';

/** Service fields PATCH may change; the schema checks their values as it checks a file. */
const PATCHABLE = ['host', 'port', 'path', 'retries', 'connect_timeout', 'read_timeout', 'write_timeout'] as const;
const serviceChange = serviceFields.pick(PATCHABLE);

/** GET /services, GET|PATCH /services/:name. */
export function serviceRoutes(ctx: AdminContext): AdminRoute[] {
  const find = (name: string): ServiceRuntime => {
    const svc = ctx.pipeline.current.services.get(name);
    if (!svc) throw new NotFoundError(`service "${name}" not found`);
    return svc;
  };
  return [
    { methods: ['GET'], path: '/services', handler: () => ({ status: 200, body: list([...ctx.pipeline.current.services.values()].map(serviceView)) }) },
    {
      methods: ['GET'],
      path: '/services/:name',
      handler: (req) => {
        const svc = find(req.params.name);
        return { status: 200, body: serviceView(svc), etag: etagOf(svc.config) };
      },
    },
    { methods: ['PATCH'], path: '/services/:name', handler: (req) => patchService(ctx, find(req.params.name).name, req) },
  ];
}

/**
 * PATCH a service, as Kong does. Setting `host` is the instant switch: it replaces any
 * split, and once this returns every new request goes to the new host. During a rollout
 * that is a conflict (409) unless `"force": true`, which aborts the rollout first.
 * `null` removes an optional field (`path`).
 */
async function patchService(ctx: AdminContext, name: string, req: AdminRequest): Promise<AdminResponse> {
  // Kong clients send the entity's own name back; it is not a change.
  const { force, name: _name, ...fields } = req.body;
  const unset = PATCHABLE.filter((k) => Object.hasOwn(fields, k) && fields[k] === null);
  for (const key of unset) {
    if (!(serviceFields.props[key] instanceof Optional))
      throw new BadInputError(`schema violation (${key}: cannot be removed)`, { [key]: 'cannot be removed' });
    delete fields[key];
  }
  const current = ctx.pipeline.current.services.get(name);
  if (current) requireMatch(req, etagOf(current.config));
  const set = checkBody(serviceChange, fields);
  if (Object.keys(set).length + unset.length === 0) throw new BadInputError(`nothing to change (allowed: ${PATCHABLE.join(', ')})`);
  const change = { kind: 'service', service: name, set, unset } as const;
  if (set.host !== undefined && ctx.rollouts.active(name)) {
    if (!isForced({ force })) {
      throw new ConflictError(`a rollout of ${name} is ${ctx.rollouts.get(name).state}; abort it, or send "force": true to switch anyway`);
    }
    // A forced switch that would be refused must not abort the rollout first.
    ctx.pipeline.check(change, req.actor);
    ctx.rollouts.command(name, 'abort', { ...req.actor, by: `${req.actor.by} (forced switch)` });
  }
  const applied = ctx.pipeline.apply(change, req.actor);
  const warnings = await ctx.pipeline.done(applied);
  const svc = applied.snapshot.services.get(name);
  if (!svc) throw new NotFoundError(`service "${name}" not found`);
  const body = warnings.length === 0 ? serviceView(svc) : { ...serviceView(svc), warnings };
  return { status: 200, body, etag: etagOf(svc.config) };
}
