import { BUCKETS, type Reading, type TrafficSource } from '../core/traffic.js';
import type { TrafficCounts } from './messages.js';

/**
 * Every worker's rollout traffic, summed: what a rollout judges with workers. Workers
 * report cumulative counts; a worker that exits keeps its last counts in the sum (as
 * `retired`), so that totals never go back and a window spanning a restart stays right.
 */
export class ClusterTraffic implements TrafficSource {
  private readonly byWorker = new Map<number, Map<string, TrafficCounts>>();
  private readonly retired = new Map<string, TrafficCounts>();

  constructor(readonly refresh?: () => Promise<void>) {}

  /** A worker's latest counts for the upstreams it reported. */
  update(worker: number, traffic: Readonly<Record<string, TrafficCounts>>): void {
    let counts = this.byWorker.get(worker);
    if (!counts) this.byWorker.set(worker, (counts = new Map()));
    for (const [upstream, c] of Object.entries(traffic)) counts.set(upstream, c);
  }

  /** A worker exited: its counts stay in the totals. */
  retire(worker: number): void {
    const counts = this.byWorker.get(worker);
    this.byWorker.delete(worker);
    for (const [upstream, c] of counts ?? []) this.retired.set(upstream, add(this.retired.get(upstream), c));
  }

  read(upstream: string): Reading {
    let sum = this.retired.get(upstream);
    for (const counts of this.byWorker.values()) {
      const c = counts.get(upstream);
      if (c) sum = add(sum, c);
    }
    const buckets = new Uint32Array(BUCKETS);
    sum?.buckets.forEach((n, i) => {
      buckets[i] = n;
    });
    return { requests: sum?.requests ?? 0, errors: sum?.errors ?? 0, buckets };
  }
}

function add(a: TrafficCounts | undefined, b: TrafficCounts): TrafficCounts {
  if (!a) return b;
  return { requests: a.requests + b.requests, errors: a.errors + b.errors, buckets: b.buckets.map((n, i) => n + (a.buckets[i] ?? 0)) };
}
