import type { JudgementView, RolloutView } from '../../src/client/views.js';

/** A rollout as the admin API shows one (running, step 2 of 4), with `over` changed. */
export function rolloutView(over: Partial<RolloutView> = {}): RolloutView {
  return {
    service: 'svc',
    state: 'running',
    reason: null,
    from: 'blue',
    to: 'green',
    steps: [10, 25, 50, 100],
    step: 2,
    split: { blue: 75, green: 25 },
    interval_ms: 30_000,
    analysis: { max_error_rate: 0.01, max_p99_ms: 500, min_requests: 100 },
    failure_threshold: 2,
    on_failure: 'rollback',
    gate: 'auto',
    failures: 0,
    started_at: '2025-01-01T00:00:00.000Z',
    next_judgement_at: '2025-01-01T00:01:00.000Z',
    ended_at: null,
    judgements: [],
    ...over,
  };
}

/** A passing judgement of `step` (1-based) at `weight` percent. */
export function passed(step: number, weight: number): JudgementView {
  return {
    at: '2025-01-01T00:00:30.000Z',
    step,
    weight,
    verdict: 'pass',
    requests: 120,
    errors: 0,
    error_rate: 0,
    p99_ms: 4,
    reason: 'within analysis limits',
  };
}
