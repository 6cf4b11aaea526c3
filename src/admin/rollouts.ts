import { rolloutRequest, type Service } from '../config/schema/config-schema.js';
import { checkBody } from '../config/schema/validate.js';
import { BadInputError, NotFoundError } from '../errors.js';
import type { RolloutEngine } from '../rollout/engine.js';
import { planOf } from '../rollout/plan.js';
import type { AdminContext } from './context.js';
import type { AdminRoute } from './router.js';
import { list } from './views.js';

const ACTIONS = ['pause', 'resume', 'promote', 'abort'] as const;

/** Rollouts, rollback and history of a service (SPEC section 6). */
export function rolloutRoutes(ctx: AdminContext): AdminRoute[] {
  const { pipeline, rollouts } = ctx;
  const service = (name: string): Service => {
    const svc = pipeline.current.config.services.find((s) => s.name === name);
    if (!svc) throw new NotFoundError(`service "${name}" not found`);
    return svc;
  };
  return [
    {
      methods: ['POST'],
      path: '/services/:name/rollout',
      handler: async (req) => {
        const svc = service(req.params.name);
        // The body is the service's `rollout:` block without its progress: one schema for both.
        const { force, ...request } = checkBody(rolloutRequest, req.body);
        const plan = planOf(svc.name, svc.host, request);
        if (force && rollouts.active(svc.name)) {
          // A plan that would be refused must not abort the running rollout first.
          rollouts.check(plan, req.actor);
          rollouts.command(svc.name, 'abort', { ...req.actor, by: `${req.actor.by} (forced by a new rollout)` });
        }
        const engine = rollouts.start(plan, req.actor);
        return { status: 201, body: withWarnings(rolloutView(engine), await pipeline.latest(req.actor)) };
      },
    },
    { methods: ['GET'], path: '/services/:name/rollout', handler: (req) => ({ status: 200, body: rolloutView(rollouts.get(service(req.params.name).name)) }) },
    {
      methods: ['POST'],
      path: '/services/:name/rollout/:action',
      handler: async (req) => {
        const action = ACTIONS.find((a) => a === req.params.action);
        if (!action) throw new BadInputError(`unknown rollout action "${req.params.action}" (allowed: ${ACTIONS.join(', ')})`);
        const engine = rollouts.command(service(req.params.name).name, action, req.actor);
        return { status: 200, body: withWarnings(rolloutView(engine), await pipeline.latest(req.actor)) };
      },
    },
    {
      methods: ['POST'],
      path: '/services/:name/rollback',
      handler: async (req) => {
        const svc = service(req.params.name);
        // During a rollout, rolling back is aborting it: back to where it started, at once.
        if (rollouts.active(svc.name)) rollouts.command(svc.name, 'abort', req.actor);
        else if (svc.previous_host === undefined) throw new BadInputError(`service "${svc.name}" has never been switched: nothing to roll back to`);
        else
          pipeline.apply(
            { kind: 'switch', service: svc.name, to: svc.previous_host, event: 'rollback', detail: `from ${svc.split ? 'a split' : svc.host}` },
            req.actor,
          );
        // A rollback is never held up by a broken config file; the answer says when it could not be written.
        const warnings = await pipeline.latest(req.actor);
        return { status: 200, body: withWarnings({ service: svc.name, history: pipeline.history.list(svc.name).at(-1) }, warnings) };
      },
    },
    {
      methods: ['GET'],
      path: '/services/:name/history',
      handler: (req) => ({ status: 200, body: list([...pipeline.history.list(service(req.params.name).name)]) }),
    },
  ];
}

/** An answer body with `warnings` when there are any. */
function withWarnings<T extends object>(body: T, warnings: string[]): T | (T & { warnings: string[] }) {
  return warnings.length === 0 ? body : { ...body, warnings };
}

/** `"force": true` (or `force=true` in a form). */
export function isForced(body: Record<string, unknown>): boolean {
  return body.force === true || body.force === 'true';
}

/** A rollout as the admin API shows it. */
export function rolloutView(e: RolloutEngine): Record<string, unknown> {
  const p = e.plan;
  const weight = e.weight();
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    service: p.service,
    state: e.state,
    reason: e.reason || null,
    from: p.from,
    to: p.to,
    steps: p.steps,
    step: e.step + 1,
    split: { [p.from]: 100 - weight, [p.to]: weight },
    interval_ms: p.intervalMs,
    analysis: {
      max_error_rate: p.analysis.maxErrorRate,
      max_p99_ms: p.analysis.maxP99Ms,
      min_requests: p.analysis.minRequests,
      ...(p.analysis.minMirrorMatch === undefined ? {} : { min_mirror_match: p.analysis.minMirrorMatch }),
      metrics: p.analysis.metrics.map(({ timeoutMs, ...m }) => ({ ...m, timeout_ms: timeoutMs })),
    },
    failure_threshold: p.failureThreshold,
    on_failure: p.onFailure,
    gate: p.gate,
    gates: p.gates.map((g) => ({ url: g.url, before: g.before, timeout_ms: g.timeoutMs })),
    max_inconclusive: p.maxInconclusive,
    failures: e.failures,
    started_at: iso(e.startedAt),
    next_judgement_at: iso(e.nextJudgementAt),
    ended_at: iso(e.endedAt),
    judgements: e.judgements.map((j) => ({
      at: iso(j.at),
      step: j.step + 1,
      weight: j.weight,
      verdict: j.verdict,
      requests: j.requests,
      errors: j.errors,
      error_rate: j.errorRate,
      p99_ms: j.p99Ms ?? null,
      reason: j.reason,
      ...(j.metrics ? { metrics: j.metrics } : {}),
    })),
  };
}
