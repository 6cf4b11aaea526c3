import type { AdminContext } from './admin/context.js';
import { configRoutes } from './admin/config.js';
import { rolloutRoutes } from './admin/rollouts.js';
import { metricsRoutes } from './admin/metrics.js';
import { AdminServer } from './admin/server.js';
import { serviceRoutes } from './admin/services.js';
import { statusRoutes } from './admin/status.js';
import { targetRoutes, upstreamRoutes } from './admin/upstreams.js';
import { formatDiagnostic } from './config/parse.js';
import type { Config } from './config/schema.js';
import { ConfigStore } from './config/store.js';
import { SwitchyardError } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { isLoopback, splitHostPort } from './net.js';
import { loadTls, ProxyServer } from './proxy/server.js';
import { Reloader } from './reloader.js';
import { RolloutController } from './rollout/controller.js';
import { systemClock } from './clock.js';
import { Metrics } from './metrics/metrics.js';
import { RequestStatsStore } from './metrics/request-stats.js';
import { Runtime } from './runtime.js';
import { Switchboard } from './switchboard.js';
import { VERSION } from './version.js';

/** How to start switchyard: from a config file (watched, with admin changes written back), or a config in memory. */
export type AppOptions = { readonly log?: Logger } & (
  | { readonly configPath: string; readonly statePath?: string; readonly env?: NodeJS.ProcessEnv }
  | { readonly config: Config }
);

/**
 * The composition root: loads the config, builds the runtime, the proxy listeners, the
 * admin API, rollouts and hot reload, and wires them together. Building is separate from
 * listening, so tests can start it on ephemeral ports.
 */
export class App {
  readonly runtime: Runtime;
  readonly switchboard: Switchboard;
  readonly rollouts: RolloutController;
  readonly log: Logger;
  readonly proxies: ProxyServer[] = [];
  readonly admin: AdminServer;
  readonly store?: ConfigStore;
  readonly reloader?: Reloader;
  /** Bound "host:port" of each proxy listener, once started. */
  proxyAddresses: string[] = [];
  /** Bound "host:port" of the admin listener, once started. */
  adminAddress = '';

  /** Undefined when `metrics.enabled` is false. */
  readonly metrics?: Metrics;

  private constructor(config: Config, log: Logger, store?: ConfigStore) {
    this.log = log;
    this.store = store;
    const stats = config.metrics.enabled ? new RequestStatsStore() : undefined;
    this.runtime = new Runtime(config, systemClock, stats);
    this.runtime.health.onTransition((h, reason) =>
      log.warn({ target: h.address, healthy: h.healthy, reason }, h.healthy ? 'target is healthy' : 'target is unhealthy'),
    );
    this.switchboard = new Switchboard(this.runtime, log);
    this.rollouts = new RolloutController(this.runtime, this.switchboard);
    if (store) {
      // Admin changes (and rollout progress) are written back; a reload's own apply diffs to nothing.
      this.runtime.onApply((next) => void store.save(next.config));
      this.reloader = new Reloader(store, this.runtime, this.rollouts, log);
    }
    if (stats) {
      const metrics = new Metrics({
        runtime: this.runtime,
        requests: stats,
        reloads: this.reloader?.status,
        connections: () => Object.fromEntries(this.proxies.map((p, i) => [this.proxyAddresses[i] ?? String(i), p.connections])),
      });
      this.switchboard.onEntry((service, entry) => metrics.event(service, entry));
      this.metrics = metrics;
    }
    const ctx: AdminContext = {
      runtime: this.runtime,
      switchboard: this.switchboard,
      rollouts: this.rollouts,
      log,
      version: VERSION,
      startedAt: Date.now(),
      source: store?.path ?? 'inline',
      store,
      reloader: this.reloader,
    };
    const routes = [...statusRoutes(ctx), ...metricsRoutes(this.metrics), ...configRoutes(ctx), ...serviceRoutes(ctx), ...rolloutRoutes(this.switchboard, this.rollouts), ...upstreamRoutes(ctx), ...targetRoutes(ctx)];
    this.admin = new AdminServer(routes, { token: config.admin.token });
  }

  /** Load, build and start an app; a config that does not validate is an error listing every problem. */
  static async start(opts: AppOptions): Promise<App> {
    const log = opts.log ?? silentLogger();
    let app: App;
    if ('config' in opts) app = new App(opts.config, log);
    else {
      const store = new ConfigStore(opts.configPath, log, opts.env, opts.statePath);
      const result = await store.load();
      if (!result.ok) throw new SwitchyardError('BAD_INPUT', `config is not valid:\n${result.errors.map(formatDiagnostic).join('\n')}`);
      for (const w of result.warnings) log.warn(formatDiagnostic(w));
      app = new App(result.config, log, store);
    }
    try {
      await app.listen();
    } catch (err) {
      await app.close();
      throw err;
    }
    return app;
  }

  /** Bind the proxy and admin listeners, take up saved rollouts, start watching the file. */
  private async listen(): Promise<void> {
    const { proxy, admin } = this.runtime.current.config;
    if (!isLoopback(splitHostPort(admin.listen).host) && !admin.token) {
      throw new SwitchyardError(
        'BAD_INPUT',
        `refusing to expose the admin API on ${admin.listen} without a token: set admin.token (e.g. token: \${SWITCHYARD_ADMIN_TOKEN}) or listen on 127.0.0.1`,
      );
    }
    const tls = proxy.tls ? await loadTls(proxy.tls) : undefined;
    for (const address of proxy.listen) {
      const server = new ProxyServer(this.runtime, tls, this.runtime.requestStats);
      this.proxies.push(server);
      this.proxyAddresses.push(await server.listen(address));
    }
    this.adminAddress = await this.admin.listen(admin.listen);
    this.rollouts.restore(this.runtime.current.config);
    await this.reloader?.start();
    this.log.info(
      {
        proxy: this.proxyAddresses,
        admin: this.adminAddress,
        source: this.store?.path ?? 'inline',
        admin_changes: this.store?.describe() ?? 'kept in memory only',
        generation: this.runtime.current.generation,
      },
      'switchyard started',
    );
  }

  /** Stop listening, let in-flight requests finish, then close upstream connections. */
  async close(): Promise<void> {
    this.rollouts.close();
    await this.reloader?.close();
    await Promise.all([...this.proxies.map((p) => p.close()), this.admin.close()]);
    await this.store?.save(this.runtime.current.config);
    await this.runtime.close();
  }
}
