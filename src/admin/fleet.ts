import { parseDuration } from '../config/schema/kinds.js';
import { BadInputError, SwitchyardError } from '../errors.js';
import type { Fleet } from '../fleet/fleet.js';
import type { AdminRequest, AdminRoute } from './router.js';

const DEFAULT_WAIT_MS = 5000;
const MAX_WAIT_MS = 60_000;

/** GET /fleet: every live instance as its heartbeat says (id, admin address, version, last seen, health as it sees it). */
export function fleetRoutes(fleet: Fleet | undefined): AdminRoute[] {
  return [
    {
      methods: ['GET'],
      path: '/fleet',
      handler: async () => {
        if (!fleet) throw new SwitchyardError('NOT_FOUND', 'this instance is not in a fleet (no `fleet` block in its config)');
        const blocked = fleet.blocked();
        if (blocked) throw new SwitchyardError('UNAVAILABLE', blocked);
        const [instances, leader] = await Promise.all([fleet.instances(), fleet.holder()]);
        return {
          status: 200,
          body: {
            name: fleet.name,
            version: fleet.version,
            leader: leader ?? null,
            data: instances.map((m) => ({
              id: m.id,
              admin: m.admin,
              generation: m.version,
              applied_at: m.applied_at === undefined ? null : new Date(m.applied_at).toISOString(),
              last_seen: new Date(m.at).toISOString(),
              leader: m.id === leader,
              upstreams: m.upstreams,
            })),
          },
        };
      },
    },
  ];
}

/**
 * `?wait=fleet` on any change (`&timeout=2s`, default 5 s): the answer comes once every live
 * instance has applied the version the change made, with each one's apply time; after the
 * timeout it is a 504 naming the instances that did not confirm (the change stays made).
 */
export function withFleetWait(routes: readonly AdminRoute[], fleet: Fleet | undefined): AdminRoute[] {
  return routes.map((route) => {
    if (route.methods.every((m) => m === 'GET')) return route;
    return {
      ...route,
      handler: async (req) => {
        const since = Date.now();
        const timeoutMs = waitOf(req, fleet);
        const out = await route.handler(req);
        if (timeoutMs === undefined || !fleet || out.status >= 300) return out;
        const proof = await fleet.waitFor(fleet.version, timeoutMs, since);
        const base = typeof out.body === 'object' && out.body !== null && !Array.isArray(out.body) ? out.body : {};
        if (proof.missing.length === 0) return { ...out, body: { ...base, fleet: proof } };
        return {
          status: 504,
          body: {
            message: `the change is made, but ${proof.missing.join(', ')} did not confirm fleet version ${proof.version} within ${timeoutMs} ms`,
            fleet: proof,
          },
        };
      },
    };
  });
}

/** The wait asked for, in ms; undefined when none. A bad one is refused before anything changes. */
function waitOf(req: AdminRequest, fleet: Fleet | undefined): number | undefined {
  const wait = req.query.get('wait');
  const timeout = req.query.get('timeout');
  if (wait === null) {
    if (timeout !== null) throw new BadInputError('timeout= goes with wait=fleet');
    return undefined;
  }
  if (wait !== 'fleet') throw new BadInputError(`wait=${wait}: the only wait is "fleet"`);
  if (!fleet) throw new BadInputError('wait=fleet: this instance is not in a fleet (no `fleet` block in its config)');
  if (timeout === null) return DEFAULT_WAIT_MS;
  const ms = parseDuration(timeout);
  if (ms === undefined || ms <= 0 || ms > MAX_WAIT_MS) throw new BadInputError(`timeout=${timeout}: expected a duration from 1ms to 60s, e.g. "2s"`);
  return ms;
}
