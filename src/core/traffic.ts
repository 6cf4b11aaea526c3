/** The new upstream's traffic in one judged window. */
export interface WindowFigures {
  readonly requests: number;
  readonly errors: number;
  /** Undefined when there were no requests. */
  readonly p99Ms?: number;
}

/** Latency buckets grow by 10%: a p99 read from them is within 10% of the true one. */
const GROWTH = 1.1;
const FIRST_MS = 0.5;
export const BUCKETS = 128; // 0.5 ms × 1.1^127 ≈ 90 s; slower answers share the last bucket
const LOG_GROWTH = Math.log(GROWTH);

/** Cumulative counts at one moment; the difference of two is a window. */
export interface Reading {
  readonly requests: number;
  readonly errors: number;
  readonly buckets: Uint32Array;
}

/**
 * Requests, errors and a latency histogram for one upstream's proxied traffic, kept by
 * upstream name outside the snapshot so that it outlives reloads. Recording is a counter
 * bump and a bucket bump: no allocation. Judgements diff two readings.
 */
export class TrafficRecorder {
  requests = 0;
  errors = 0;
  readonly buckets = new Uint32Array(BUCKETS);

  /** Count one finished request; `failed` for 5xx, connect errors and timeouts. */
  record(durationMs: number, failed: boolean): void {
    this.requests++;
    if (failed) this.errors++;
    const i = durationMs <= FIRST_MS ? 0 : Math.ceil(Math.log(durationMs / FIRST_MS) / LOG_GROWTH);
    this.buckets[i < BUCKETS ? i : BUCKETS - 1]++;
  }

  /** The cumulative counts now. */
  read(): Reading {
    return { requests: this.requests, errors: this.errors, buckets: this.buckets.slice() };
  }
}

/** The traffic between two readings, with its p99 (the upper bound of the bucket it falls in). */
export function windowBetween(start: Reading, end: Reading): WindowFigures {
  const requests = end.requests - start.requests;
  const errors = end.errors - start.errors;
  if (requests === 0) return { requests, errors };
  const rank = Math.ceil(requests * 0.99);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += end.buckets[i] - start.buckets[i];
    if (seen >= rank) return { requests, errors, p99Ms: Math.round(FIRST_MS * GROWTH ** i * 100) / 100 };
  }
  return { requests, errors };
}

/** Where rollouts read an upstream's traffic: this process's recorders, or the sum of every worker's. */
export interface TrafficSource {
  /** The upstream's cumulative counts as known now. */
  read(upstream: string): Reading;
  /** Bring the counts up to date before a judgement (workers report on a timer); absent when they always are. */
  readonly refresh?: () => Promise<void>;
}

/** One recorder per upstream name, created on first use and kept across reloads. */
export class TrafficRecorders implements TrafficSource {
  private readonly byName = new Map<string, TrafficRecorder>();

  read(upstream: string): Reading {
    return this.get(upstream).read();
  }

  /** Every recorder by upstream name (a worker reports them to the primary). */
  entries(): IterableIterator<[string, TrafficRecorder]> {
    return this.byName.entries();
  }

  /** The recorder of an upstream. */
  get(upstream: string): TrafficRecorder {
    let r = this.byName.get(upstream);
    if (!r) this.byName.set(upstream, (r = new TrafficRecorder()));
    return r;
  }
}
