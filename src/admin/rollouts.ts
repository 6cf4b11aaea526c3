import { BadInputError } from '../errors.js';
import type { RolloutController } from '../rollout/controller.js';
import type { RolloutEngine } from '../rollout/engine.js';
import { parsePlan } from '../rollout/plan.js';
import type { Switchboard } from '../switchboard.js';
import type { AdminRoute } from './router.js';
import { list } from './views.js';

const ACTIONS = ['pause', 'resume', 'promote', 'abort'] as const;

/** Rollouts, rollback and history of a service (SPEC section 6). */
export function rolloutRoutes(switchboard: Switchboard, rollouts: RolloutController): AdminRoute[] {
  return [
    {
      methods: ['POST'],
      path: '/services/:name/rollout',
      handler: (req) => {
        const svc = switchboard.service(req.params.name);
        const plan = parsePlan(svc.name, svc.host, req.body);
        switchboard.requireUpstream(plan.to);
        switchboard.requireUpstream(svc.host); // a rollout moves traffic between two upstreams
        if (isForced(req.body) && rollouts.active(svc.name)) rollouts.command(svc.name, 'abort', `${req.remoteAddress} (forced by a new rollout)`);
        return { status: 201, body: rolloutView(rollouts.start(plan, req.remoteAddress)) };
      },
    },
    { methods: ['GET'], path: '/services/:name/rollout', handler: (req) => ({ status: 200, body: rolloutView(rollouts.get(switchboard.service(req.params.name).name)) }) },
    {
      methods: ['POST'],
      path: '/services/:name/rollout/:action',
      handler: (req) => {
        const action = req.params.action as (typeof ACTIONS)[number];
        if (!ACTIONS.includes(action)) throw new BadInputError(`unknown rollout action "${action}" (allowed: ${ACTIONS.join(', ')})`);
        const name = switchboard.service(req.params.name).name;
        return { status: 200, body: rolloutView(rollouts.command(name, action, req.remoteAddress)) };
      },
    },
    {
      methods: ['POST'],
      path: '/services/:name/rollback',
      handler: (req) => {
        const name = switchboard.service(req.params.name).name;
        // During a rollout, rolling back is aborting it: back to where it started, at once.
        if (rollouts.active(name)) rollouts.command(name, 'abort', req.remoteAddress);
        else switchboard.rollback(name, req.remoteAddress);
        return { status: 200, body: { service: name, history: switchboard.history(name).at(-1) } };
      },
    },
    { methods: ['GET'], path: '/services/:name/history', handler: (req) => ({ status: 200, body: list([...switchboard.history(req.params.name)]) }) },
  ];
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
    analysis: { max_error_rate: p.analysis.maxErrorRate, max_p99_ms: p.analysis.maxP99Ms, min_requests: p.analysis.minRequests },
    failure_threshold: p.failureThreshold,
    on_failure: p.onFailure,
    gate: p.gate,
    max_inconclusive: p.maxInconclusive,
    failures: e.failures,
    started_at: iso(e.startedAt),
    next_judgement_at: iso(e.nextJudgementAt),
    ended_at: iso(e.endedAt),
    judgements: e.judgements.map((j) => ({
      at: iso(j.at), step: j.step + 1, weight: j.weight, verdict: j.verdict, requests: j.requests, errors: j.errors,
      error_rate: j.errorRate, p99_ms: j.p99Ms ?? null, reason: j.reason,
    })),
  };
}
