import { createHash } from 'node:crypto';
import { Pool } from './balancer/pool.js';
import { Split } from './balancer/split.js';
import type { Config } from './config/schema.js';
import { Router } from './proxy/router.js';
import type { Target, TargetRegistry } from './targets.js';

type ServiceConfig = Config['services'][number];
type UpstreamConfig = Config['upstreams'][number];

/** An upstream as the request path sees it: a name and a balancer over live targets. */
export interface UpstreamRuntime {
  readonly name: string;
  readonly pool: Pool<Target>;
  /** The declared upstream, or undefined for a service's plain host:port. */
  readonly config?: UpstreamConfig;
}

/** A service compiled for the request path: everything it needs, resolved to objects. */
export interface ServiceRuntime {
  readonly name: string;
  readonly config: ServiceConfig;
  /** Overrides, then the split (a single upstream when the service has no split). */
  readonly split: Split<UpstreamRuntime>;
  /** Every upstream the service may send to, for failover when the chosen one is empty. */
  readonly upstreams: readonly UpstreamRuntime[];
  readonly basePath: string;
  readonly readTimeout: number;
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
}

/** Compile a validated config into a snapshot, borrowing live targets from the registry. */
export function buildSnapshot(config: Config, registry: TargetRegistry, generation: number): Snapshot {
  const targets = new Set<Target>();
  const upstreams = new Map<string, UpstreamRuntime>();
  const services = new Map<string, ServiceRuntime>();
  const routes = [];

  for (const svc of config.services) {
    const opts = { protocol: svc.protocol, connectTimeout: svc.connect_timeout };
    const upstreamOf = (name: string): UpstreamRuntime => {
      const up = config.upstreams.find((u) => u.name === name);
      if (!up) return plainHost(name, svc.port);
      const key = `${name}#${svc.protocol}#${svc.connect_timeout}`;
      let rt = upstreams.get(key);
      if (!rt) upstreams.set(key, (rt = declaredUpstream(up)));
      return rt;
    };
    const declaredUpstream = (up: UpstreamConfig): UpstreamRuntime => {
      const members = up.targets.map((t) => ({ member: registry.get(t.target, opts), weight: t.weight }));
      for (const m of members) targets.add(m.member);
      return { name: up.name, pool: new Pool(members), config: up };
    };
    const plainHost = (host: string, port: number): UpstreamRuntime => {
      const member = registry.get(`${host}:${port}`, opts);
      targets.add(member);
      return { name: `${host}:${port}`, pool: new Pool([{ member, weight: 1 }]) };
    };

    const weights = svc.split
      ? Object.entries(svc.split).map(([name, weight]) => ({ upstream: upstreamOf(name), weight }))
      : [{ upstream: upstreamOf(svc.host), weight: 1 }];
    const overrides = (svc.overrides ?? []).map((o) => ({ ...o, upstream: upstreamOf(o.upstream) }));
    const service: ServiceRuntime = {
      name: svc.name,
      config: svc,
      split: new Split(weights, overrides),
      upstreams: [...new Set([...weights.map((w) => w.upstream), ...overrides.map((o) => o.upstream)])],
      basePath: svc.path ?? '',
      readTimeout: svc.read_timeout,
    };
    services.set(svc.name, service);
    for (const r of svc.routes) {
      const target: RouteRuntime = {
        name: r.name ?? svc.name,
        service,
        stripPath: r.strip_path,
        preserveHost: r.preserve_host,
      };
      routes.push({ hosts: r.hosts, paths: r.paths, methods: r.methods, headers: r.headers, target });
    }
  }
  // Declared upstreams no service uses are still listed by the admin API.
  const byName = new Map<string, UpstreamRuntime>();
  for (const rt of upstreams.values()) if (!byName.has(rt.name)) byName.set(rt.name, rt);
  for (const up of config.upstreams) {
    if (byName.has(up.name)) continue;
    const opts = { protocol: 'http' as const, connectTimeout: 60_000 };
    const members = up.targets.map((t) => ({ member: registry.get(t.target, opts), weight: t.weight }));
    for (const m of members) targets.add(m.member);
    byName.set(up.name, { name: up.name, pool: new Pool(members), config: up });
  }

  return {
    generation,
    hash: configHash(config),
    config,
    router: new Router(routes),
    services,
    upstreams: byName,
    targets,
  };
}

/** A short, stable hash of a config, so operators can check every instance runs the same one. */
export function configHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}
