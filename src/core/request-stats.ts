/** Latency histogram bounds in seconds: from 1 ms, as a proxy's answers mostly are. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/**
 * Request counts by status and a latency histogram for one (service, upstream, target).
 * The proxy bumps plain numbers per request, with no allocation and no label hashing;
 * prom-client reads them only when /metrics is scraped.
 */
export class RequestStats {
  /** Requests by status code (index = code; 0 for a request that got no response). */
  readonly codes = new Float64Array(600);
  /** Counts per latency bucket (the last is +Inf); made cumulative at scrape. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  /** gRPC calls by grpc-status (0–16; 17: none or unknown). */
  readonly grpc = new Float64Array(18);
  /** Failed attempts by kind, and retries sent after them. */
  connectErrors = 0;
  timeouts = 0;
  resets = 0;
  retries = 0;

  constructor(
    readonly service: string,
    readonly upstream: string,
    readonly target: string,
  ) {}

  /** Count one request. */
  record(status: number, seconds: number): void {
    this.codes[status > 0 && status < 600 ? status : 0]++;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.buckets[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** Count one gRPC call's status (undefined: the answer carried none). */
export function countGrpc(stats: RequestStats, status: number | undefined): void {
  stats.grpc[status !== undefined && status >= 0 && status <= 16 ? status : 17]++;
}

/** The kind of a failed attempt, by undici error code. */
export type FailureKind = 'connect' | 'timeout' | 'reset';

/** Count a failed attempt at this target. */
export function countFailure(stats: RequestStats, kind: FailureKind): void {
  if (kind === 'connect') stats.connectErrors++;
  else if (kind === 'timeout') stats.timeouts++;
  else stats.resets++;
}

/** Every RequestStats, kept by name outside the snapshots so that counters survive reloads. */
export class RequestStatsStore {
  private readonly byKey = new Map<string, RequestStats>();

  /** The stats of one combination, created on first use. */
  get(service: string, upstream: string, target: string): RequestStats {
    const key = `${service}\u0000${upstream}\u0000${target}`;
    let s = this.byKey.get(key);
    if (!s) this.byKey.set(key, (s = new RequestStats(service, upstream, target)));
    return s;
  }

  /** All of them, for a scrape. */
  all(): IterableIterator<RequestStats> {
    return this.byKey.values();
  }
}
