import type { RolloutBlock, rolloutRequest } from '../config/schema/config-schema.js';
import type { Infer } from '../config/schema/dsl.js';
import type { RolloutEngine, RolloutPlan, SavedProgress } from './engine.js';

/** A live rollout as it is written into the service's config (`rollout:`), to survive a restart. */
export function blockOf(e: RolloutEngine): RolloutBlock | undefined {
  const progress = e.progress();
  if (progress === undefined) return undefined;
  const p = e.plan;
  return {
    to: p.to,
    steps: [...p.steps],
    interval: p.intervalMs,
    analysis: {
      max_error_rate: p.analysis.maxErrorRate,
      max_p99_ms: p.analysis.maxP99Ms,
      min_requests: p.analysis.minRequests,
      metrics: p.analysis.metrics.map(({ timeoutMs, ...m }) => ({ ...m, timeout: timeoutMs })),
      ...(p.analysis.minMirrorMatch === undefined ? {} : { min_mirror_match: p.analysis.minMirrorMatch }),
    },
    failure_threshold: p.failureThreshold,
    on_failure: p.onFailure,
    gate: p.gate,
    max_inconclusive: p.maxInconclusive,
    on_restart: p.onRestart,
    gates: p.gates.map((g) => ({ url: g.url, before: g.before, timeout: g.timeoutMs })),
    state: progress.state,
    step: progress.step + 1,
    failures: progress.failures,
    ...(progress.reason ? { reason: progress.reason } : {}),
    started_at: new Date(progress.startedAt).toISOString(),
  };
}

/** A rollout's plan as the admin API takes it and the config keeps it (snake_case, defaults applied). */
export type RolloutRequest = Omit<Infer<typeof rolloutRequest>, 'force'>;

/** The plan of a rollout from `from` (the service's host) as requested or saved. */
export function planOf(service: string, from: string, b: RolloutRequest): RolloutPlan {
  return {
    service,
    from,
    to: b.to,
    steps: b.steps,
    intervalMs: b.interval,
    analysis: {
      maxErrorRate: b.analysis.max_error_rate,
      maxP99Ms: b.analysis.max_p99_ms,
      minRequests: b.analysis.min_requests,
      metrics: b.analysis.metrics.map(({ timeout, ...m }) => ({ ...m, timeoutMs: timeout })),
      minMirrorMatch: b.analysis.min_mirror_match,
    },
    failureThreshold: b.failure_threshold,
    onFailure: b.on_failure,
    gate: b.gate,
    maxInconclusive: b.max_inconclusive,
    onRestart: b.on_restart,
    gates: b.gates.map((g) => ({ url: g.url, before: g.before, timeoutMs: g.timeout })),
  };
}

/** The plan and progress of a rollout read back from a service's config. */
export function fromBlock(service: string, from: string, b: RolloutBlock): { plan: RolloutPlan; progress: SavedProgress } {
  const started = b.started_at === undefined ? Number.NaN : Date.parse(b.started_at);
  return {
    plan: planOf(service, from, b),
    progress: { step: b.step - 1, state: b.state, failures: b.failures, startedAt: Number.isFinite(started) ? started : Date.now(), reason: b.reason },
  };
}
