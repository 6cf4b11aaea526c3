import { createHash } from 'node:crypto';
import { Pool } from '../balancer/pool.js';
import { Split } from '../balancer/split.js';
import type { Config } from '../config/schema/config-schema.js';
import { Router, type RouteSpec } from '../routing/router.js';
import type { Clock } from '../clock.js';
import { PassiveMonitor, passiveEnabled } from '../health/passive.js';
import type { HealthRegistry } from '../health/registry.js';
import { Mirror } from '../mirror/mirror.js';
import { type MirrorRegistry, mirrorTrafficKey } from '../mirror/stats.js';
import type { RequestStats, RequestStatsStore } from './request-stats.js';
import type { TrafficRecorder, TrafficRecorders } from './traffic.js';
import type { Target, TargetOptions, TargetRegistry } from './targets.js';

/** A plain host:port (no declared upstream) gets the upstream defaults. */
const DEFAULT_MAX_CONNECTIONS = 128;
const DEFAULT_KEEPALIVE_MS = 4_000;

type ServiceConfig = Config['services'][number];
type UpstreamConfig = Config['upstreams'][number];

/** An upstream as the request path sees it: a name and a balancer over live targets. */
export interface UpstreamRuntime {
  readonly name: string;
  readonly pool: Pool<Target>;
  /** The declared upstream, or undefined for a service's plain host:port. */
  readonly config?: UpstreamConfig;
  /** Counts proxied outcomes when the upstream has passive checks. */
  readonly passive?: PassiveMonitor;
  /** Requests, errors and latency of this upstream's traffic, for rollout judgements. */
  readonly traffic: TrafficRecorder;
}

/** A service compiled for the request path: everything it needs, resolved to objects. */
export interface ServiceRuntime {
  readonly name: string;
  readonly config: ServiceConfig;
  /** Overrides, then the split (a single upstream when the service has no split). */
  readonly split: Split<UpstreamRuntime>;
  /** Every upstream the service may send to (its split's and its overrides'). */
  readonly upstreams: readonly UpstreamRuntime[];
  /** Where requests fail over when the chosen upstream has no healthy target: the split's upstreams with weight, never an override's. */
  readonly failoverTo: readonly UpstreamRuntime[];
  readonly basePath: string;
  readonly readTimeout: number;
  /** With `sticky.cookie`: the cookie to issue to clients that have none. */
  readonly stickyCookie?: string;
  /** Per-request counters by upstream and target, resolved here so a request never looks them up by name; absent with metrics off. */
  readonly stats?: ReadonlyMap<UpstreamRuntime, ReadonlyMap<Target, RequestStats>>;
  /** `log.access`: write an access log line for each of its requests. */
  readonly accessLog: boolean;
  /** With `mirror:`: which requests get a copy, and where it goes. */
  readonly mirror?: Mirror;
}

/** What a matched route carries to the forwarder. */
export interface RouteRuntime {
  readonly name: string;
  readonly service: ServiceRuntime;
  readonly stripPath: boolean;
  readonly preserveHost: boolean;
}

/**
 * The running config, compiled and immutable: routes pre-sorted, pools built, names
 * resolved to objects. A change builds a new one and swaps one reference.
 */
export interface Snapshot {
  readonly generation: number;
  readonly hash: string;
  readonly config: Config;
  readonly router: Router<RouteRuntime>;
  readonly services: ReadonlyMap<string, ServiceRuntime>;
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  /** Every target the snapshot routes to, so that the registry can close the rest. */
  readonly targets: ReadonlySet<Target>;
  /** `log.access`: requests that reach no service are logged too. */
  readonly accessLog: boolean;
}

/** What a snapshot borrows from the runtime: live targets, their health, and time. */
export interface SnapshotDeps {
  readonly targets: TargetRegistry;
  readonly health: HealthRegistry;
  readonly clock: Clock;
  readonly traffic: TrafficRecorders;
  /** Where per-request counters live; undefined when metrics are off. */
  readonly requestStats?: RequestStatsStore;
  /** Each service's mirror figures. */
  readonly mirrors: MirrorRegistry;
}

/** Compile a validated config into a snapshot, borrowing live targets from the registry. */
export function buildSnapshot(config: Config, deps: SnapshotDeps, generation: number): Snapshot {
  const targets = new Set<Target>();
  const compiled = new Map<string, UpstreamRuntime>();
  const declared = new Map(config.upstreams.map((u) => [u.name, u]));

  /** An upstream as one service reaches it; services with the same connection settings share it. A mirror's has pools of its own, as large as its max_concurrent. */
  const upstreamFor = (name: string, svc?: ServiceConfig, mirror?: { maxConnections: number }): UpstreamRuntime => {
    const up = declared.get(name);
    const opts: TargetOptions = {
      protocol: svc?.protocol ?? 'http',
      connectTimeout: svc?.connect_timeout ?? 60_000,
      tlsVerify: svc?.tls_verify ?? true,
      maxConnections: mirror?.maxConnections ?? up?.max_connections ?? DEFAULT_MAX_CONNECTIONS,
      keepAliveMs: up?.keepalive_timeout ?? DEFAULT_KEEPALIVE_MS,
      mirror: mirror !== undefined,
    };
    // A plain host is one target per port; a declared upstream is shared by services with the same settings.
    const key = `${up ? name : `${name}:${svc?.port ?? 80}`}#${opts.protocol}#${opts.connectTimeout}#${opts.tlsVerify}`;
    const cached = mirror ? undefined : compiled.get(key);
    if (cached) return cached;
    // A service whose host is not an upstream sends to that host:port alone.
    const list = up ? up.targets : [{ target: `${name}:${svc?.port ?? 80}`, weight: 1 }];
    const members = list.map((t) => ({ member: deps.targets.get(t.target, opts), weight: t.weight }));
    for (const m of members) targets.add(m.member);
    // A mirror's copies tell passive health nothing, and its runtime is the service's own, not the upstream's.
    const passive = up && !mirror && passiveEnabled(up.healthchecks) ? new PassiveMonitor(up.healthchecks, deps.health, deps.clock, name) : undefined;
    const label = up ? name : `${name}:${svc?.port ?? 80}`;
    const rt: UpstreamRuntime = { name: label, pool: new Pool(members), config: up, passive, traffic: deps.traffic.get(label) };
    if (!mirror) compiled.set(key, rt);
    return rt;
  };

  const services = new Map<string, ServiceRuntime>();
  const routes: RouteSpec<RouteRuntime>[] = [];
  for (const svc of config.services) {
    const service = compileService(svc, upstreamFor, deps, config.log.access);
    services.set(svc.name, service);
    for (const r of svc.routes) {
      const target = { name: r.name ?? svc.name, service, stripPath: r.strip_path, preserveHost: r.preserve_host };
      routes.push({ hosts: r.hosts, paths: r.paths, methods: r.methods, headers: r.headers, target });
    }
  }
  // Every declared upstream is listed, in config order, whether or not a service uses it.
  const upstreams = new Map(config.upstreams.map((u) => [u.name, findCompiled(compiled, u.name) ?? upstreamFor(u.name)]));

  return { generation, hash: configHash(config), config, router: new Router(routes), services, upstreams, targets, accessLog: config.log.access };
}

function compileService(
  svc: ServiceConfig,
  upstreamFor: (name: string, svc: ServiceConfig, mirror?: { maxConnections: number }) => UpstreamRuntime,
  deps: SnapshotDeps,
  accessLog: boolean,
): ServiceRuntime {
  const store = deps.requestStats;
  const weights = svc.split
    ? Object.entries(svc.split).map(([name, weight]) => ({ upstream: upstreamFor(name, svc), weight }))
    : [{ upstream: upstreamFor(svc.host, svc), weight: 1 }];
  const overrides = (svc.overrides ?? []).map((o) => ({ ...o, upstream: upstreamFor(o.upstream, svc) }));
  const upstreams = [...new Set([...weights.map((w) => w.upstream), ...overrides.map((o) => o.upstream)])];
  const stats = store && new Map(upstreams.map((u) => [u, new Map(u.pool.members.map((m) => [m.member, store.get(svc.name, u.name, m.member.address)]))]));
  return {
    name: svc.name,
    config: svc,
    split: new Split(weights, overrides, svc.sticky),
    upstreams,
    failoverTo: weights.filter((w) => w.weight > 0).map((w) => w.upstream),
    stats,
    basePath: svc.path ?? '',
    readTimeout: svc.read_timeout,
    stickyCookie: svc.sticky?.cookie,
    accessLog,
    mirror: svc.mirror && mirrorOf(svc, svc.mirror, upstreamFor(svc.mirror.upstream, svc, { maxConnections: svc.mirror.max_concurrent }), deps),
  };
}

/** A service's mirror, with figures that begin afresh when where it sends or what it compares changes. */
function mirrorOf(svc: ServiceConfig, m: NonNullable<ServiceConfig['mirror']>, upstream: UpstreamRuntime, deps: SnapshotDeps): Mirror {
  const stats = deps.mirrors.get(svc.name, JSON.stringify([m.upstream, m.compare]));
  return new Mirror(m, upstream, stats, deps.traffic.get(mirrorTrafficKey(svc.name)));
}

function findCompiled(compiled: Map<string, UpstreamRuntime>, name: string): UpstreamRuntime | undefined {
  for (const rt of compiled.values()) if (rt.config?.name === name) return rt;
  return undefined;
}

/** Percent of a service's traffic per upstream name. */
export function trafficOf(svc: ServiceRuntime): Record<string, number> {
  return Object.fromEntries(svc.split.shares().map((s) => [s.upstream.name, s.percent]));
}

/** A short, stable hash of a config, so operators can check every instance runs the same one. */
export function configHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

/** Healthy and total targets (weight above 0) per upstream. */
export function upstreamHealth(snap: Snapshot): Record<string, { healthy: number; total: number }> {
  const out: Record<string, { healthy: number; total: number }> = {};
  for (const up of snap.upstreams.values()) {
    if (!up.config) continue;
    const members = up.pool.members.filter((m) => m.weight > 0);
    out[up.name] = { healthy: members.filter((m) => m.member.healthy).length, total: members.length };
  }
  return out;
}
