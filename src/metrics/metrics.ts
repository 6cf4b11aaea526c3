import client, { AggregatorRegistry, Counter, Gauge, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import type { TargetHealth } from '../health/state.js';
import type { HistoryEntry } from '../core/history.js';
import type { SnapshotSource } from '../core/state.js';
import { LATENCY_BUCKETS, type RequestStatsStore } from '../core/request-stats.js';
import { MIRROR_RESULTS, type MirrorRegistry } from '../mirror/stats.js';

/** One process's metrics as prom-client's getMetricsAsJSON() gives them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * What the metrics read at scrape time. A single process has all of them; with workers,
 * the primary has the control-plane ones (runtime, reloads) and each worker the
 * request-path ones (requests, connections).
 */
export interface MetricSources {
  /** The running snapshot: target health, split weights, generation. */
  readonly runtime?: SnapshotSource;
  /** Where the proxy counts requests. */
  readonly requests?: RequestStatsStore;
  readonly reloads?: { applied: number; rejected: number; lastAppliedAt?: number };
  /** Each service's mirror figures (where requests are served). */
  readonly mirrors?: MirrorRegistry;
  /** Open client connections per proxy listener address. */
  readonly connections?: () => Record<string, number>;
  /** With workers: each worker's metrics, summed into the scrape (prom-client's cluster aggregation). */
  readonly workers?: () => Promise<MetricsJson[]>;
  /** Webhook endpoints and their delivery counts. */
  readonly notifications?: () => readonly { readonly sent: number; readonly failed: number; readonly dropped: number }[];
  /** In a fleet: the version applied here, live instances, versions refused, whether this instance leads. */
  readonly fleet?: { readonly version: number; readonly liveCount: number; readonly refusedTotal: number; readonly leader: boolean };
}

/**
 * The Prometheus registry, names prefixed `switchyard_`. Per-request figures live in
 * RequestStats (plain numbers bumped by the proxy) and are copied into prom-client
 * metrics when /metrics is scraped; events (switches, judgements) count directly.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly switches: Counter;
  private readonly steps: Counter;
  private readonly judgements: Counter;

  constructor(private readonly sources: MetricSources) {
    const r = this.registry;
    client.collectDefaultMetrics({ register: r });
    if (sources.requests) requestMetrics(r, sources.requests);
    if (sources.runtime) this.gauges(sources.runtime);
    if (sources.connections) connectionsGauge(r, sources.connections);
    if (sources.fleet) fleetMetrics(r, sources.fleet);
    if (sources.notifications) notificationMetrics(r, sources.notifications);
    if (sources.mirrors) mirrorMetrics(r, sources.mirrors);
    this.switches = new Counter({
      name: 'switchyard_switches_total',
      help: 'Changes of where a service sends traffic, by kind.',
      labelNames: ['service', 'kind'],
      registers: [r],
    });
    this.steps = new Counter({ name: 'switchyard_rollout_steps_total', help: 'Rollout steps taken.', labelNames: ['service'], registers: [r] });
    this.judgements = new Counter({
      name: 'switchyard_rollout_judgements_total',
      help: 'Rollout step judgements by verdict.',
      labelNames: ['service', 'verdict'],
      registers: [r],
    });
  }

  /** Count a history event: switches, rollbacks, rollout steps and judgements. */
  event(service: string, entry: HistoryEntry): void {
    const kind = SWITCH_KINDS[entry.event];
    if (kind) this.switches.inc({ service, kind });
    if (entry.event === 'rollout_step') this.steps.inc({ service });
    if (entry.event === 'rollout_judgement' && entry.verdict) this.judgements.inc({ service, verdict: entry.verdict });
  }

  /** The exposition text for GET /metrics; with workers, their metrics summed in. */
  async text(): Promise<string> {
    if (!this.sources.workers) return this.registry.metrics();
    const all = [await this.registry.getMetricsAsJSON(), ...(await this.sources.workers())];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  private gauges(runtime: SnapshotSource): void {
    const { reloads } = this.sources;
    const r = this.registry;
    new Gauge({
      name: 'switchyard_target_health',
      help: "Target health, 1 for the state it is in (as Kong's kong_upstream_target_health).",
      labelNames: ['upstream', 'target', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const up of runtime.current.upstreams.values()) {
          for (const m of up.pool.members) {
            for (const state of ['healthy', 'unhealthy'] as const)
              this.set({ upstream: up.name, target: m.member.address, state }, stateOf(m.member.health) === state ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'switchyard_split_weight',
      help: "Percent of a service's traffic each upstream gets now.",
      labelNames: ['service', 'upstream'],
      registers: [r],
      collect() {
        this.reset();
        for (const svc of runtime.current.services.values()) {
          for (const s of svc.split.shares()) this.set({ service: svc.name, upstream: s.upstream.name }, s.percent);
        }
      },
    });
    new Gauge({
      name: 'switchyard_config_generation',
      help: 'Grows by one with every applied config change.',
      registers: [r],
      collect() {
        this.set(runtime.current.generation);
      },
    });
    new Counter({
      name: 'switchyard_config_reloads_total',
      help: 'Reloads of the config file by result.',
      labelNames: ['result'],
      registers: [r],
      collect() {
        this.reset();
        this.inc({ result: 'applied' }, reloads?.applied ?? 0);
        this.inc({ result: 'rejected' }, reloads?.rejected ?? 0);
      },
    });
    new Gauge({
      name: 'switchyard_config_last_reload_success_timestamp_seconds',
      help: 'When the config file was last reloaded successfully (0: never).',
      registers: [r],
      collect() {
        this.set((reloads?.lastAppliedAt ?? 0) / 1000);
      },
    });
  }
}

/** The per-request metrics, read from RequestStats at scrape time. */
function requestMetrics(r: Registry, stats: RequestStatsStore): void {
  new Counter({
    name: 'switchyard_requests_total',
    help: 'Proxied requests by service, upstream, target and status code (0: no response).',
    labelNames: ['service', 'upstream', 'target', 'code'],
    registers: [r],
    collect() {
      this.reset();
      for (const s of stats.all()) {
        s.codes.forEach((n, code) => {
          if (n > 0) this.inc({ service: s.service, upstream: s.upstream, target: s.target, code: String(code) }, n);
        });
      }
    },
  });
  r.registerMetric(latencyHistogram(stats) as never);
  new Counter({
    name: 'switchyard_upstream_errors_total',
    help: 'Failed attempts at a target by kind: connect, timeout, reset.',
    labelNames: ['service', 'upstream', 'target', 'kind'],
    registers: [r],
    collect() {
      this.reset();
      for (const s of stats.all()) {
        const l = { service: s.service, upstream: s.upstream, target: s.target };
        this.inc({ ...l, kind: 'connect' }, s.connectErrors);
        this.inc({ ...l, kind: 'timeout' }, s.timeouts);
        this.inc({ ...l, kind: 'reset' }, s.resets);
      }
    },
  });
  new Counter({
    name: 'switchyard_grpc_requests_total',
    help: 'gRPC calls by service, upstream, target and grpc-status (from trailers, or a trailers-only answer; "none" when absent).',
    labelNames: ['service', 'upstream', 'target', 'grpc_status'],
    registers: [r],
    collect() {
      this.reset();
      for (const s of stats.all()) {
        s.grpc.forEach((n, status) => {
          if (n > 0) this.inc({ service: s.service, upstream: s.upstream, target: s.target, grpc_status: status === 17 ? 'none' : String(status) }, n);
        });
      }
    },
  });
  new Counter({
    name: 'switchyard_retries_total',
    help: 'Retries sent after a failed attempt at a target.',
    labelNames: ['service', 'upstream', 'target'],
    registers: [r],
    collect() {
      this.reset();
      for (const s of stats.all()) if (s.retries > 0) this.inc({ service: s.service, upstream: s.upstream, target: s.target }, s.retries);
    },
  });
}

/** Mirrored copies by what became of them. */
function mirrorMetrics(r: Registry, mirrors: MirrorRegistry): void {
  new Counter({
    name: 'switchyard_mirror_requests_total',
    help: 'Requests copied to a mirror, by result: match, mismatch_status|header|body, mirror_error, mirror_timeout; dropped, too_large, unpaired (not compared).',
    labelNames: ['service', 'result'],
    registers: [r],
    collect() {
      this.reset();
      for (const [service, report] of Object.entries(mirrors.reports())) {
        for (const result of MIRROR_RESULTS) this.inc({ service, result }, report.counts[result]);
      }
    },
  });
}

/** Webhook deliveries by result, over every endpoint (the primary's alone). */
function notificationMetrics(r: Registry, endpoints: NonNullable<MetricSources['notifications']>): void {
  new Counter({
    name: 'switchyard_notifications_total',
    help: 'Webhook events by result: sent, failed (after retries), dropped (queue full).',
    labelNames: ['result'],
    registers: [r],
    aggregator: 'max',
    collect() {
      this.reset();
      const list = endpoints();
      for (const result of ['sent', 'failed', 'dropped'] as const)
        this.inc(
          { result },
          list.reduce((n, e) => n + e[result], 0),
        );
    },
  });
}

/** A fleet as this instance sees it (the primary's alone: never summed over workers). */
function fleetMetrics(r: Registry, fleet: NonNullable<MetricSources['fleet']>): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [r],
      aggregator: 'max',
      collect() {
        this.set(read());
      },
    });
  gauge('switchyard_fleet_version', 'The fleet version this instance has applied (the same on every instance once applied).', () => fleet.version);
  gauge('switchyard_fleet_instances', 'Live instances of the fleet, by their heartbeats.', () => fleet.liveCount);
  gauge('switchyard_fleet_leader', '1 while this instance holds the leader lease (runs the rollouts).', () => (fleet.leader ? 1 : 0));
  new Counter({
    name: 'switchyard_fleet_refused_total',
    help: 'Fleet versions refused here as invalid configs.',
    registers: [r],
    aggregator: 'max',
    collect() {
      this.reset();
      this.inc(fleet.refusedTotal);
    },
  });
}

/** Open client connections per listener (summed over workers). */
function connectionsGauge(r: Registry, connections: () => Record<string, number>): void {
  new Gauge({
    name: 'switchyard_connections',
    help: 'Open client connections per proxy listener.',
    labelNames: ['listener'],
    registers: [r],
    collect() {
      this.reset();
      for (const [listener, n] of Object.entries(connections())) this.set({ listener }, n);
    },
  });
}

const SWITCH_KINDS: Partial<Record<HistoryEntry['event'], string>> = {
  switch: 'switch',
  rollback: 'rollback',
  rollout_started: 'rollout_started',
  rollout_succeeded: 'rollout_succeeded',
  rollout_rolled_back: 'rollback',
  rollout_aborted: 'abort',
};

function stateOf(h: TargetHealth): 'healthy' | 'unhealthy' {
  return h.healthy ? 'healthy' : 'unhealthy';
}

/** A histogram prom-client formats from RequestStats, summed per service and upstream. */
function latencyHistogram(stats: RequestStatsStore) {
  const name = 'switchyard_request_duration_seconds';
  const help = "Time from a request's arrival to the end of its response, by service and upstream.";
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const groups = new Map<string, { service: string; upstream: string; buckets: number[]; sum: number; count: number }>();
      for (const s of stats.all()) {
        const key = `${s.service}\u0000${s.upstream}`;
        const g = groups.get(key) ?? {
          service: s.service,
          upstream: s.upstream,
          buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0),
          sum: 0,
          count: 0,
        };
        groups.set(key, g);
        for (let i = 0; i < s.buckets.length; i++) g.buckets[i] += s.buckets[i];
        g.sum += s.sum;
        g.count += s.count;
      }
      const values = [];
      for (const g of groups.values()) {
        const labels = { service: g.service, upstream: g.upstream };
        let cumulative = 0;
        g.buckets.forEach((n, i) => {
          cumulative += n;
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] : '+Inf' }, value: cumulative });
        });
        values.push({ metricName: `${name}_sum`, labels, value: g.sum }, { metricName: `${name}_count`, labels, value: g.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}
