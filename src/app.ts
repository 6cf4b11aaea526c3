import { availableParallelism } from 'node:os';
import { configRoutes } from './admin/config.js';
import { fleetRoutes, withFleetWait } from './admin/fleet.js';
import { LiveFeed } from './admin/live.js';
import { uiRoutes } from './admin/ui.js';
import type { AdminContext } from './admin/context.js';
import { metricsRoutes } from './admin/metrics.js';
import { rolloutRoutes } from './admin/rollouts.js';
import { AdminServer } from './admin/server.js';
import { mirrorRoutes } from './admin/mirror.js';
import { serviceRoutes } from './admin/services.js';
import { statusRoutes } from './admin/status.js';
import { targetRoutes, upstreamRoutes } from './admin/upstreams.js';
import { isLoopback, splitHostPort } from './address.js';
import { defaultDistribution, type Distribution, WorkerPool } from './cluster/workers.js';
import { type Clock, systemClock } from './clock.js';
import { formatDiagnostic } from './config/load/parse.js';
import { Reloader } from './config/load/reloader.js';
import { ConfigFile } from './config/persist/config-file.js';
import type { Config } from './config/schema/config-schema.js';
import { History } from './core/history.js';
import { ChangePipeline } from './core/pipeline.js';
import { RequestStatsStore } from './core/request-stats.js';
import { upstreamHealth } from './core/snapshot.js';
import { ProxyState } from './core/state.js';
import { SwitchyardError } from './errors.js';
import { defaultInstance, Fleet } from './fleet/fleet.js';
import { type Logger, silentLogger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import { Notifier } from './notify/notifier.js';
import { limitsOf, loadTls, ProxyServer } from './proxy/server.js';
import { RolloutController } from './rollout/controller.js';
import { VERSION } from './version.js';

/** How to start switchyard: from a config file (watched, with admin changes written back), or a config in memory. `workers` overrides proxy.workers. */
export type AppOptions = { readonly log?: Logger; readonly clock?: Clock; readonly workers?: number | 'auto' } & (
  | { readonly configPath: string; readonly statePath?: string; readonly env?: NodeJS.ProcessEnv }
  | { readonly config: Config }
);

/**
 * The composition root: loads the config, builds the running state and the change
 * pipeline, the proxy listeners, the admin API, rollouts and hot reload, and wires them
 * together. Building is separate from listening, so tests can start it on ephemeral ports.
 */
export class App {
  readonly state: ProxyState;
  readonly pipeline: ChangePipeline;
  readonly rollouts: RolloutController;
  readonly log: Logger;
  /** The proxy listeners when this process serves them (one worker); empty with workers. */
  readonly proxies: ProxyServer[] = [];
  /** The proxy worker processes, with proxy.workers above 1. */
  readonly workers?: WorkerPool;
  /** This instance's membership of a fleet, with a `fleet` block. */
  readonly fleet?: Fleet;
  readonly admin: AdminServer;
  /** The dashboard's live feed (GET /ui/events). */
  private readonly feed: LiveFeed;
  /** Webhooks for switches and rollout events (`notifications`). */
  readonly notifier: Notifier;
  readonly file?: ConfigFile;
  readonly reloader?: Reloader;
  /** Bound "host:port" of each proxy listener, once started. */
  proxyAddresses: string[] = [];
  /** Bound "host:port" of the admin listener, once started. */
  adminAddress = '';

  /** Undefined when `metrics.enabled` is false. */
  readonly metrics?: Metrics;

  private constructor(config: Config, log: Logger, clock: Clock, workers: number, env: NodeJS.ProcessEnv, file?: ConfigFile) {
    this.log = log;
    this.file = file;
    // With workers, requests are counted where they are served: in the workers.
    const stats = config.metrics.enabled && workers === 1 ? new RequestStatsStore() : undefined;
    this.state = new ProxyState(config, clock, stats);
    this.state.health.onTransition((h, reason) =>
      log.warn({ target: h.address, healthy: h.healthy, reason }, h.healthy ? 'target is healthy' : 'target is unhealthy'),
    );
    if (workers > 1) this.workers = new WorkerPool(this.state, { count: workers, distribution: distribution(), logLevel: log.level, log });
    this.pipeline = new ChangePipeline(this.state, new History(), log, file, this.workers);
    this.fleet = fleetOf(config, env, log);
    // In a fleet, rollouts run on the leader only, judged on every instance's traffic.
    const local = this.workers?.traffic ?? this.state.traffic;
    this.rollouts = new RolloutController(this.pipeline, this.fleet?.traffic ?? local, clock, !this.fleet);
    this.notifier = new Notifier(() => this.pipeline.current.config, log, this.fleet?.id);
    this.pipeline.history.onEntry((service, entry) => this.notifier.entry(service, entry));
    if (file) {
      const reload = (next: Config) => this.pipeline.apply({ kind: 'config', config: next }, { via: 'file', by: file.path });
      this.reloader = new Reloader(file.path, file, reload, clock, log);
    }
    if (config.metrics.enabled) {
      const pool = this.workers;
      const metrics = new Metrics(
        pool
          ? { runtime: this.state, reloads: this.reloader?.status, workers: () => pool.metrics(), fleet: this.fleet, notifications: () => this.notifier.view() }
          : {
              runtime: this.state,
              fleet: this.fleet,
              notifications: () => this.notifier.view(),
              requests: stats,
              mirrors: this.state.mirrors,
              reloads: this.reloader?.status,
              connections: () => Object.fromEntries(this.proxies.map((p, i) => [this.proxyAddresses[i] ?? String(i), p.connections])),
            },
      );
      this.pipeline.history.onEntry((service, entry) => metrics.event(service, entry));
      this.metrics = metrics;
    }
    const ctx: AdminContext = {
      pipeline: this.pipeline,
      rollouts: this.rollouts,
      health: this.state.health,
      log,
      version: VERSION,
      startedAt: Date.now(),
      source: file?.path ?? 'inline',
      file,
      reloads: this.reloader?.status,
      workers: this.workers,
      fleet: this.fleet,
      notifications: () => this.notifier.view(),
      mirrors: async () => (this.workers ? this.workers.mirrors() : this.state.mirrors.reports()),
    };
    this.feed = new LiveFeed(ctx, local);
    const routes = [
      ...uiRoutes(config.admin.token !== undefined),
      ...this.feed.routes(),
      ...statusRoutes(ctx),
      ...fleetRoutes(this.fleet),
      ...metricsRoutes(this.metrics),
      ...configRoutes(ctx),
      ...serviceRoutes(ctx),
      ...mirrorRoutes(ctx),
      ...rolloutRoutes(ctx),
      ...upstreamRoutes(ctx),
      ...targetRoutes(ctx),
    ];
    this.admin = new AdminServer(withFleetWait(routes, this.fleet), { token: config.admin.token });
  }

  /** Load, build and start an app; a config that does not validate is an error listing every problem. */
  static async start(opts: AppOptions): Promise<App> {
    const log = opts.log ?? silentLogger();
    const clock = opts.clock ?? systemClock;
    let app: App;
    if ('config' in opts) app = new App(opts.config, log, clock, workerCount(opts.config, opts.workers), process.env);
    else {
      const file = new ConfigFile(opts.configPath, log, clock, opts.env, opts.statePath);
      const result = await file.load();
      if (!result.ok) throw new SwitchyardError('BAD_INPUT', `config is not valid:\n${result.errors.map(formatDiagnostic).join('\n')}`);
      for (const w of result.warnings) log.warn(formatDiagnostic(w));
      app = new App(result.config, log, clock, workerCount(result.config, opts.workers), opts.env ?? process.env, file);
    }
    try {
      await app.listen();
    } catch (err) {
      await app.close();
      throw err;
    }
    return app;
  }

  /** Resolves once every change so far is written and the file has been read once more and handled (tests wait on this, never on time). */
  async settled(): Promise<void> {
    await this.pipeline.settled();
    await this.file?.settled();
    await this.reloader?.settled();
  }

  /** Bind the proxy and admin listeners, take up saved rollouts, start watching the file. */
  private async listen(): Promise<void> {
    const { proxy, admin } = this.state.current.config;
    if (!isLoopback(splitHostPort(admin.listen).host) && !admin.token) {
      throw new SwitchyardError(
        'BAD_INPUT',
        `refusing to expose the admin API on ${admin.listen} without a token: set admin.token (e.g. token: \${SWITCHYARD_ADMIN_TOKEN}) or listen on 127.0.0.1`,
      );
    }
    // A fleet's config is joined before any request is served: a late instance never serves an old colour.
    const fleet = this.fleet;
    if (fleet) {
      const pool = this.workers;
      await fleet.start({
        pipeline: this.pipeline,
        rollouts: this.rollouts,
        traffic: pool?.traffic ?? this.state.traffic,
        health: () => upstreamHealth(this.pipeline.current),
        // A hand edit refused while Redis was away is read again.
        resynced: () => void this.reloader?.settled(),
      });
    }
    if (this.workers) this.proxyAddresses = await this.workers.start();
    else {
      const tls = proxy.tls ? await loadTls(proxy.tls) : undefined;
      for (const address of proxy.listen) {
        const server = new ProxyServer(this.state, { tls, limits: limitsOf(proxy), log: this.log, stats: this.state.requestStats, http2: proxy.http2 });
        this.proxies.push(server);
        this.proxyAddresses.push(await server.listen(address));
      }
    }
    this.adminAddress = await this.admin.listen(admin.listen);
    // In a fleet, rollouts are taken up by whichever instance leads (Fleet → rollouts.lead).
    if (fleet) {
      this.rollouts.sync(this.state.current.config);
      fleet.serve(this.adminAddress);
    } else this.rollouts.restore(this.state.current.config);
    await this.reloader?.start();
    this.log.info(
      {
        proxy: this.proxyAddresses,
        admin: this.adminAddress,
        source: this.file?.path ?? 'inline',
        admin_changes: this.file?.describe() ?? 'kept in memory only',
        generation: this.state.current.generation,
        workers: this.workers ? this.workers.view().workers.length : 1,
        ...(fleet ? { fleet: fleet.name, instance: fleet.id, fleet_version: fleet.version } : {}),
      },
      'switchyard started',
    );
  }

  /** Stop listening, let in-flight requests finish, then close upstream connections. */
  async close(): Promise<void> {
    this.rollouts.close();
    this.feed.close();
    this.notifier.close();
    await this.fleet?.close();
    await this.reloader?.close();
    await Promise.all([...this.proxies.map((p) => p.close()), this.workers?.close(), this.admin.close()]);
    await this.file?.save(this.state.current.config);
    // Every write queued on the writer thread finishes before the thread is stopped.
    await this.file?.settled();
    await this.file?.close();
    await this.state.close();
  }
}

/** The fleet this instance is in, from its `fleet` block (the Redis URL from SWITCHYARD_REDIS_URL when the block has none). */
function fleetOf(config: Config, env: NodeJS.ProcessEnv, log: Logger): Fleet | undefined {
  if (!config.fleet) return undefined;
  const url = config.fleet.redis ?? env.SWITCHYARD_REDIS_URL;
  if (url === undefined || url === '')
    throw new SwitchyardError('BAD_INPUT', 'fleet: set fleet.redis or SWITCHYARD_REDIS_URL to the Redis URL (redis://HOST:PORT/DB)');
  if (!/^rediss?:\/\/\S+$/.test(url)) throw new SwitchyardError('BAD_INPUT', 'SWITCHYARD_REDIS_URL: expected a redis:// or rediss:// URL');
  return new Fleet({ url, name: config.fleet.name, instance: config.fleet.instance ?? defaultInstance() }, log);
}

/** Proxy worker processes: the CLI's --workers, else proxy.workers ("auto": one per CPU). */
function workerCount(config: Config, override?: number | 'auto'): number {
  const n = override ?? config.proxy.workers;
  return n === 'auto' ? availableParallelism() : n;
}

/** SWITCHYARD_WORKER_DISTRIBUTION=cluster|reuseport picks how workers share listeners (the benchmark measures both). */
function distribution(): Distribution {
  const asked = process.env.SWITCHYARD_WORKER_DISTRIBUTION;
  if (asked === undefined || asked === '') return defaultDistribution();
  if (asked !== 'cluster' && asked !== 'reuseport')
    throw new SwitchyardError('BAD_INPUT', `SWITCHYARD_WORKER_DISTRIBUTION must be "cluster" or "reuseport", got "${asked}"`);
  if (asked === 'reuseport' && defaultDistribution() !== 'reuseport')
    throw new SwitchyardError('BAD_INPUT', `reuseport needs Node 22.12 or later on Linux (this is ${process.version} on ${process.platform})`);
  return asked;
}
