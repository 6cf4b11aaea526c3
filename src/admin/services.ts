import { BadInputError, ConflictError, NotFoundError } from '../errors.js';
import { integer, nonEmptyString, pathString } from './input.js';
import { isForced } from './rollouts.js';
import type { ServiceRuntime } from '../snapshot.js';
import type { AdminContext } from './context.js';
import type { AdminRequest, AdminRoute } from './router.js';
import { list, serviceView, upstreamNames } from './views.js';

/** Service fields PATCH may change, and how each is read from JSON or form input. */
const PATCHABLE: Record<string, (v: unknown, field: string) => unknown> = {
  host: (v, f) => nonEmptyString(v, f),
  port: (v, f) => integer(v, f, 1, 65535),
  path: (v, f) => (v === null ? null : pathString(v, f)),
  retries: (v, f) => integer(v, f, 0, 32767),
  connect_timeout: (v, f) => integer(v, f, 1, 2147483646),
  read_timeout: (v, f) => integer(v, f, 1, 2147483646),
  write_timeout: (v, f) => integer(v, f, 1, 2147483646),
};

/** GET /services, GET|PATCH /services/:name. */
export function serviceRoutes(ctx: AdminContext): AdminRoute[] {
  const find = (name: string): ServiceRuntime => {
    const svc = ctx.runtime.current.services.get(name);
    if (!svc) throw new NotFoundError(`service "${name}" not found`);
    return svc;
  };
  return [
    { methods: ['GET'], path: '/services', handler: () => ({ status: 200, body: list([...ctx.runtime.current.services.values()].map(serviceView)) }) },
    { methods: ['GET'], path: '/services/:name', handler: (req) => ({ status: 200, body: serviceView(find(req.params.name)) }) },
    { methods: ['PATCH'], path: '/services/:name', handler: (req) => patchService(ctx, find(req.params.name), req) },
  ];
}

/**
 * PATCH a service, as Kong does. Setting `host` is the instant switch: it replaces any
 * split, and once this returns every new request goes to the new host. During a rollout
 * that is a conflict (409) unless `"force": true`, which aborts the rollout first.
 */
function patchService(ctx: AdminContext, svc: ServiceRuntime, req: AdminRequest) {
  const { force, ...rest } = req.body;
  const changes = readChanges(rest);
  const snap = ctx.runtime.current;
  const host = changes.host;
  if (typeof host === 'string' && !snap.upstreams.has(host) && changes.port === undefined) {
    throw new BadInputError(
      `unknown upstream "${host}" (known: ${upstreamNames(snap).join(', ') || 'none'}); to send to a plain host, give its port too`,
      { host: 'unknown upstream' },
    );
  }
  if (host !== undefined && ctx.rollouts.active(svc.name)) {
    if (!isForced({ force })) {
      throw new ConflictError(`a rollout of ${svc.name} is ${ctx.rollouts.get(svc.name).state}; abort it, or send "force": true to switch anyway`);
    }
    ctx.rollouts.command(svc.name, 'abort', `${req.remoteAddress} (forced switch)`);
  }
  const applied = ctx.switchboard.change(svc.name, (s) => {
    for (const [field, value] of Object.entries(changes)) {
      if (value === null) delete (s as Record<string, unknown>)[field];
      else (s as Record<string, unknown>)[field] = value;
    }
    if (host !== undefined) delete s.split;
  }, host !== undefined ? 'switch' : 'change', req.remoteAddress, JSON.stringify(changes));
  return { status: 200, body: serviceView(applied.services.get(svc.name)!) };
}

function readChanges(body: Record<string, unknown>): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  const unknown = Object.keys(body).filter((k) => !(k in PATCHABLE) && k !== 'name');
  if (unknown.length > 0) {
    throw new BadInputError(
      `cannot change ${unknown.map((k) => `"${k}"`).join(', ')} here (allowed: ${Object.keys(PATCHABLE).join(', ')})`,
      Object.fromEntries(unknown.map((k) => [k, 'unknown field'])),
    );
  }
  for (const [field, read] of Object.entries(PATCHABLE)) {
    if (field in body) changes[field] = read(body[field], field);
  }
  if (Object.keys(changes).length === 0) throw new BadInputError(`nothing to change (allowed: ${Object.keys(PATCHABLE).join(', ')})`);
  return changes;
}
