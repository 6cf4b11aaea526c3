import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Config } from '../config/schema/config-schema.js';
import type { HealthSource, Outcome } from '../health/state.js';
import type { MirrorReport } from '../mirror/stats.js';

/** One target's health as the primary holds it. */
export interface HealthEntry {
  readonly address: string;
  readonly healthy: boolean;
  readonly source: HealthSource;
}

/** Everything a worker needs to serve: the running config at its generation, health, where to listen. */
export interface WorkerSetup {
  readonly config: Config;
  readonly generation: number;
  readonly health: readonly HealthEntry[];
  /** Addresses to bind: the config's, with port 0 replaced by the port the first worker got. */
  readonly listen: readonly string[];
  readonly reusePort: boolean;
  readonly logLevel: string;
}

/** An upstream's cumulative traffic counts, as a worker reports them. */
export interface TrafficCounts {
  readonly requests: number;
  readonly errors: number;
  readonly buckets: readonly number[];
}

/** A passive-health outcome a worker saw: [upstream, address, outcome, detail]. */
export type PassiveEvent = readonly [string, string, Outcome, string];

/** What the primary sends a worker. */
export type ToWorker =
  | ({ readonly t: 'setup' } & WorkerSetup)
  /** Serve this config from now on, under this generation number. */
  | { readonly t: 'config'; readonly generation: number; readonly config: Config }
  /** A target's health changed (health is decided in the primary). */
  | ({ readonly t: 'health' } & HealthEntry)
  /** Send a report now, echoing `seq`. */
  | { readonly t: 'report'; readonly seq: number }
  | { readonly t: 'metrics'; readonly id: number }
  /** Send each service's mirror report. */
  | { readonly t: 'mirror'; readonly id: number }
  /** Stop listening, finish in-flight requests, exit. */
  | { readonly t: 'drain' };

/** A worker's periodic figures. */
export interface WorkerReport {
  readonly seq: number;
  readonly connections: number;
  readonly requests: number;
  /** Only upstreams whose counts changed since the last report. */
  readonly traffic: Readonly<Record<string, TrafficCounts>>;
}

/** What a worker sends the primary. */
export type ToPrimary =
  /** Listening for messages: an ES module worker loses those that arrive before it is (so the setup waits for this). */
  | { readonly t: 'hello' }
  | { readonly t: 'ready'; readonly addresses: readonly string[] }
  | { readonly t: 'failed'; readonly message: string }
  /** Serving `generation` since `at` (epoch ms, fractional); building its snapshot took `ms`. */
  | { readonly t: 'applied'; readonly generation: number; readonly at: number; readonly ms: number }
  | { readonly t: 'passive'; readonly events: readonly PassiveEvent[] }
  | ({ readonly t: 'report' } & WorkerReport)
  | { readonly t: 'metrics'; readonly id: number; readonly metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { readonly t: 'mirror'; readonly id: number; readonly reports: Readonly<Record<string, MirrorReport>> };
