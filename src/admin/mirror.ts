import { mirrorBlock } from '../config/schema/config-schema.js';
import { checkBody } from '../config/schema/validate.js';
import { NotFoundError } from '../errors.js';
import { COMPARED, MIRROR_RESULTS, type MirrorReport } from '../mirror/stats.js';
import type { AdminContext } from './context.js';
import { type AdminRequest, type AdminResponse, type AdminRoute, etagOf, requireMatch } from './router.js';

/** GET|PUT|DELETE /services/:name/mirror: the comparison report, and the mirror itself as a change like any other. */
export function mirrorRoutes(ctx: AdminContext): AdminRoute[] {
  return [
    { methods: ['GET'], path: '/services/:name/mirror', handler: (req) => report(ctx, req.params.name) },
    { methods: ['PUT'], path: '/services/:name/mirror', handler: (req) => put(ctx, req) },
    { methods: ['DELETE'], path: '/services/:name/mirror', handler: (req) => remove(ctx, req) },
  ];
}

/** The comparison report of a service's mirror: what it is, totals, the match rate, mismatches by kind, recent samples. */
async function report(ctx: AdminContext, name: string): Promise<AdminResponse> {
  const svc = serviceOf(ctx, name);
  const r = (await ctx.mirrors())[name];
  return { status: 200, body: mirrorView(name, svc.config.mirror ?? null, r) };
}

/** A report as the admin API and the CLI show it. */
export function mirrorView(service: string, mirror: unknown, r: MirrorReport | undefined): Record<string, unknown> {
  const counts = Object.fromEntries(MIRROR_RESULTS.map((k) => [k, r?.counts[k] ?? 0])) as Record<(typeof MIRROR_RESULTS)[number], number>;
  const compared = COMPARED.reduce((n, k) => n + counts[k], 0);
  const copied = MIRROR_RESULTS.reduce((n, k) => n + counts[k], 0) - counts.dropped - counts.too_large;
  return {
    service,
    mirror,
    since: r === undefined ? null : new Date(r.since).toISOString(),
    totals: { requests: copied + counts.dropped + counts.too_large, copied, compared, matched: counts.match },
    match_rate: compared === 0 ? null : Math.round((counts.match / compared) * 10000) / 10000,
    mismatches: {
      status: counts.mismatch_status,
      header: counts.mismatch_header,
      body: counts.mismatch_body,
      mirror_error: counts.mirror_error,
      mirror_timeout: counts.mirror_timeout,
    },
    not_compared: { dropped: counts.dropped, too_large: counts.too_large, unpaired: counts.unpaired },
    samples: (r?.samples ?? []).map((s) => ({ ...s, at: new Date(s.at).toISOString() })),
  };
}

/** Start (or change) mirroring: the body is a `mirror:` block, checked as the file's is, applied and kept like any change. */
async function put(ctx: AdminContext, req: AdminRequest): Promise<AdminResponse> {
  const svc = serviceOf(ctx, req.params.name);
  requireMatch(req, etagOf(svc.config));
  checkBody(mirrorBlock, req.body);
  // The body as sent goes into the config (its own spelling of durations kept); the pipeline validates the whole config again.
  const applied = ctx.pipeline.apply({ kind: 'service', service: svc.name, set: { mirror: req.body }, unset: [] }, req.actor);
  const warnings = await ctx.pipeline.done(applied);
  const next = applied.snapshot.services.get(svc.name);
  const body = mirrorView(svc.name, next?.config.mirror ?? null, (await ctx.mirrors())[svc.name]);
  return { status: 200, body: warnings.length === 0 ? body : { ...body, warnings }, etag: next && etagOf(next.config) };
}

/** Stop mirroring; the figures stay readable until a mirror compares something else. */
async function remove(ctx: AdminContext, req: AdminRequest): Promise<AdminResponse> {
  const svc = serviceOf(ctx, req.params.name);
  requireMatch(req, etagOf(svc.config));
  if (svc.config.mirror === undefined) return { status: 204 };
  await ctx.pipeline.done(ctx.pipeline.apply({ kind: 'service', service: svc.name, set: {}, unset: ['mirror'] }, req.actor));
  return { status: 204 };
}

function serviceOf(ctx: AdminContext, name: string) {
  const svc = ctx.pipeline.current.services.get(name);
  if (!svc) throw new NotFoundError(`service "${name}" not found`);
  return svc;
}
