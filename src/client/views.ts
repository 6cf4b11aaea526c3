/**
 * What the admin API answers, as the client reads it, with checks that an answer has that
 * shape (so a wrong --admin, such as the proxy port, is told apart from the admin API).
 */

/** One judgement of a step, as the admin API shows it. */
export interface JudgementView {
  readonly at: string;
  readonly step: number;
  readonly weight: number;
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly requests: number;
  readonly errors: number;
  readonly error_rate: number;
  readonly p99_ms: number | null;
  readonly reason: string;
}

/** A rollout as `GET /services/NAME/rollout` shows it. */
export interface RolloutView {
  readonly service: string;
  readonly state: 'running' | 'paused' | 'succeeded' | 'rolled_back' | 'aborted';
  readonly reason: string | null;
  readonly from: string;
  readonly to: string;
  readonly steps: readonly number[];
  /** 1-based. */
  readonly step: number;
  readonly split: Readonly<Record<string, number>>;
  readonly interval_ms: number;
  readonly analysis: { readonly max_error_rate: number; readonly max_p99_ms: number; readonly min_requests: number; readonly min_mirror_match?: number };
  readonly failure_threshold: number;
  readonly on_failure: string;
  readonly gate: string;
  readonly failures: number;
  readonly started_at: string;
  readonly next_judgement_at: string | null;
  readonly ended_at: string | null;
  readonly judgements: readonly JudgementView[];
}

/** `GET /status`, as the admin API answers it (Tyk's /hello shape). */
export interface StatusView {
  readonly status: 'pass' | 'warn' | 'fail';
  readonly version: string;
  readonly details: {
    readonly generation: number;
    readonly config_hash: string;
    readonly config_source?: string;
    readonly uptime_seconds?: number;
    readonly services_without_healthy_targets?: readonly string[];
  };
}

/** A service with where its traffic goes now, percent per upstream. */
export interface ServiceView {
  readonly name: string;
  readonly traffic: Readonly<Record<string, number>>;
}

/** An upstream with its targets' weight and health. */
export interface UpstreamView {
  readonly name: string;
  readonly targets: readonly { target: string; weight: number; health: string; draining?: boolean }[];
}

/** `POST /services/NAME/rollback`'s answer: the service and its newest history entry. */
export interface RollbackView {
  readonly service: string;
  readonly history?: { readonly event: string; readonly traffic: Record<string, number>; readonly detail?: string };
}

/** Kong's list envelope. */
export interface ListView<T> {
  readonly data: readonly T[];
}

type Check = (body: unknown) => boolean;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A rollout view: a state, steps, a split and judgements. */
export const isRolloutView: Check = (b) =>
  isObject(b) && typeof b.state === 'string' && Array.isArray(b.steps) && isObject(b.split) && Array.isArray(b.judgements);

/** GET /status: status and details. */
export const isStatusView: Check = (b) => isObject(b) && typeof b.status === 'string' && isObject(b.details);

/** A service with its traffic. */
export const isServiceView: Check = (b) => isObject(b) && typeof b.name === 'string' && isObject(b.traffic);

/** A list envelope whose items pass `item`. */
export function isListOf(item: Check): Check {
  return (b) => isObject(b) && Array.isArray(b.data) && b.data.every(item);
}

/** An upstream with its targets. */
export const isUpstreamView: Check = (b) => isObject(b) && typeof b.name === 'string' && Array.isArray(b.targets);

/** POST /services/NAME/rollback's answer. */
export const isRollbackView: Check = (b) => isObject(b) && typeof b.service === 'string';
