import { BadInputError } from '../errors.js';
import type { RolloutBlock } from '../config/schema.js';
import type { RolloutEngine, RolloutPlan, SavedProgress } from './engine.js';

/** Defaults for a rollout request's optional fields. */
export const PLAN_DEFAULTS = {
  steps: [10, 25, 50, 100],
  interval: '30s',
  analysis: { max_error_rate: 0.01, max_p99_ms: 500, min_requests: 100 },
  failure_threshold: 2,
  on_failure: 'rollback',
  gate: 'auto',
  max_inconclusive: 5,
  on_restart: 'resume',
} as const;

const PLAN_KEYS = new Set(['to', 'steps', 'interval', 'analysis', 'failure_threshold', 'on_failure', 'gate', 'max_inconclusive', 'on_restart', 'force']);
const ANALYSIS_KEYS = new Set(['max_error_rate', 'max_p99_ms', 'min_requests']);
const MIN_INTERVAL_MS = 50;

/**
 * Read a rollout request body (`POST /services/NAME/rollout`) into a plan, or throw a 400
 * that says what is allowed. `from` is the service's host when the rollout starts.
 */
export function parsePlan(service: string, from: string, body: Record<string, unknown>): RolloutPlan {
  const unknown = Object.keys(body).filter((k) => !PLAN_KEYS.has(k));
  if (unknown.length > 0) bad('body', `unknown field(s) ${unknown.join(', ')} (allowed: ${[...PLAN_KEYS].join(', ')})`);
  const to = body.to;
  if (typeof to !== 'string' || to === '') bad('to', 'expected the name of the upstream to roll out to');
  if (to === from) bad('to', `service ${service} already sends its traffic to ${to}`);
  const analysis = (body.analysis ?? {}) as Record<string, unknown>;
  if (typeof analysis !== 'object' || analysis === null || Array.isArray(analysis)) bad('analysis', 'expected an object');
  const extra = Object.keys(analysis).filter((k) => !ANALYSIS_KEYS.has(k));
  if (extra.length > 0) bad('analysis', `unknown field(s) ${extra.join(', ')} (allowed: ${[...ANALYSIS_KEYS].join(', ')})`);
  const d = PLAN_DEFAULTS;
  return {
    service,
    from,
    to,
    steps: parseSteps(body.steps ?? d.steps),
    intervalMs: parseDuration(body.interval ?? d.interval, 'interval'),
    analysis: {
      maxErrorRate: num(analysis.max_error_rate ?? d.analysis.max_error_rate, 'analysis.max_error_rate', 0, 1),
      maxP99Ms: num(analysis.max_p99_ms ?? d.analysis.max_p99_ms, 'analysis.max_p99_ms', 0, 3_600_000),
      minRequests: int(analysis.min_requests ?? d.analysis.min_requests, 'analysis.min_requests', 0, 1e9),
    },
    failureThreshold: int(body.failure_threshold ?? d.failure_threshold, 'failure_threshold', 1, 1000),
    onFailure: oneOf(body.on_failure ?? d.on_failure, 'on_failure', ['rollback', 'pause'] as const),
    gate: oneOf(body.gate ?? d.gate, 'gate', ['auto', 'manual'] as const),
    maxInconclusive: int(body.max_inconclusive ?? d.max_inconclusive, 'max_inconclusive', 1, 1000),
    onRestart: oneOf(body.on_restart ?? d.on_restart, 'on_restart', ['resume', 'pause'] as const),
  };
}

/** Steps: whole percents, increasing, the last 100 ("10,25,50,100" is accepted too). */
export function parseSteps(value: unknown): number[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : value;
  const allowed = 'expected increasing whole percents from 1 to 100 ending at 100, e.g. [10, 25, 50, 100]';
  if (!Array.isArray(list) || list.length === 0) bad('steps', allowed);
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (!Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= list[i - 1])) bad('steps', `${allowed}; got ${JSON.stringify(value)}`);
  }
  if (list[list.length - 1] !== 100) bad('steps', `${allowed}; the last step must be 100`);
  return list as number[];
}

/** "30s", "2m", "500ms", "1h", or a number of milliseconds. */
export function parseDuration(value: unknown, field: string): number {
  const allowed = `expected a duration such as "30s", "2m", "500ms" or a number of milliseconds (at least ${MIN_INTERVAL_MS} ms)`;
  let ms: number;
  if (typeof value === 'number') ms = value;
  else {
    const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value) : null;
    if (!m) bad(field, `${allowed}; got ${JSON.stringify(value)}`);
    ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  }
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS || ms > 86_400_000) bad(field, `${allowed}; got ${JSON.stringify(value)}`);
  return Math.round(ms);
}

function num(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) bad(field, `expected a number from ${min} to ${max}`);
  return n;
}

function int(value: unknown, field: string, min: number, max: number): number {
  const n = num(value, field, min, max);
  if (!Number.isInteger(n)) bad(field, `expected a whole number from ${min} to ${max}`);
  return n;
}

function oneOf<const V extends string>(value: unknown, field: string, allowed: readonly V[]): V {
  if (!allowed.includes(value as V)) bad(field, `expected one of ${allowed.join(', ')}`);
  return value as V;
}

function bad(field: string, message: string): never {
  throw new BadInputError(`${field}: ${message}`, { [field]: message });
}

/** A live rollout as it is written into the service's config (`rollout:`), to survive a restart. */
export function blockOf(e: RolloutEngine): RolloutBlock | undefined {
  const progress = e.progress();
  if (progress === undefined) return undefined;
  const p = e.plan;
  return {
    to: p.to,
    steps: [...p.steps],
    interval: p.intervalMs,
    analysis: { max_error_rate: p.analysis.maxErrorRate, max_p99_ms: p.analysis.maxP99Ms, min_requests: p.analysis.minRequests },
    failure_threshold: p.failureThreshold,
    on_failure: p.onFailure,
    gate: p.gate,
    max_inconclusive: p.maxInconclusive,
    on_restart: p.onRestart,
    state: progress.state,
    step: progress.step + 1,
    failures: progress.failures,
    ...(progress.reason ? { reason: progress.reason } : {}),
    started_at: new Date(progress.startedAt).toISOString(),
  };
}

/** The plan and progress of a rollout read back from a service's config. */
export function fromBlock(service: string, from: string, b: RolloutBlock): { plan: RolloutPlan; progress: SavedProgress } {
  const started = b.started_at === undefined ? NaN : Date.parse(b.started_at);
  return {
    plan: {
      service,
      from,
      to: b.to,
      steps: b.steps,
      intervalMs: b.interval,
      analysis: { maxErrorRate: b.analysis.max_error_rate, maxP99Ms: b.analysis.max_p99_ms, minRequests: b.analysis.min_requests },
      failureThreshold: b.failure_threshold,
      onFailure: b.on_failure,
      gate: b.gate,
      maxInconclusive: b.max_inconclusive,
      onRestart: b.on_restart,
    },
    progress: { step: b.step - 1, state: b.state, failures: b.failures, startedAt: Number.isFinite(started) ? started : Date.now(), reason: b.reason },
  };
}
