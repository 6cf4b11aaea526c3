import { statusRoutes } from './admin/status.js';
import type { AdminContext } from './admin/context.js';
import { AdminServer } from './admin/server.js';
import { rolloutRoutes } from './admin/rollouts.js';
import { serviceRoutes } from './admin/services.js';
import { upstreamRoutes } from './admin/upstreams.js';
import type { Config } from './config/schema.js';
import { SwitchyardError } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { isLoopback, splitHostPort } from './net.js';
import { loadTls, ProxyServer } from './proxy/server.js';
import { RolloutController } from './rollout/controller.js';
import { Runtime } from './runtime.js';
import { Switchboard } from './switchboard.js';
import { VERSION } from './version.js';

/** How to start switchyard. */
export interface AppOptions {
  readonly config: Config;
  /** Where the config came from, for status and logs. */
  readonly source?: string;
  readonly log?: Logger;
}

/**
 * The composition root: builds the runtime, the proxy listeners and the admin API,
 * and wires them together. Building is separate from listening, so tests can start
 * it on ephemeral ports.
 */
export class App {
  readonly runtime: Runtime;
  readonly switchboard: Switchboard;
  readonly rollouts: RolloutController;
  readonly log: Logger;
  readonly proxies: ProxyServer[] = [];
  readonly admin: AdminServer;
  /** Bound "host:port" of each proxy listener, once started. */
  proxyAddresses: string[] = [];
  /** Bound "host:port" of the admin listener, once started. */
  adminAddress = '';
  private readonly config: Config;

  constructor(private readonly opts: AppOptions) {
    this.config = opts.config;
    this.log = opts.log ?? silentLogger();
    this.runtime = new Runtime(opts.config);
    this.runtime.health.onTransition((h, reason) =>
      this.log.warn({ target: h.address, healthy: h.healthy, reason }, h.healthy ? 'target is healthy' : 'target is unhealthy'),
    );
    this.switchboard = new Switchboard(this.runtime, this.log);
    this.rollouts = new RolloutController(this.runtime, this.switchboard);
    const ctx: AdminContext = {
      runtime: this.runtime,
      switchboard: this.switchboard,
      rollouts: this.rollouts,
      log: this.log,
      version: VERSION,
      startedAt: Date.now(),
      source: opts.source ?? 'inline',
    };
    const routes = [...statusRoutes(ctx), ...serviceRoutes(ctx), ...rolloutRoutes(this.switchboard, this.rollouts), ...upstreamRoutes(ctx)];
    this.admin = new AdminServer(routes, {
      token: opts.config.admin.token,
    });
  }

  /** Build and start an app. */
  static async start(opts: AppOptions): Promise<App> {
    const app = new App(opts);
    try {
      await app.listen();
    } catch (err) {
      await app.close();
      throw err;
    }
    return app;
  }

  /** Bind the proxy and admin listeners. */
  async listen(): Promise<void> {
    const { proxy, admin } = this.config;
    if (!isLoopback(splitHostPort(admin.listen).host) && !admin.token) {
      throw new SwitchyardError(
        'BAD_INPUT',
        `refusing to expose the admin API on ${admin.listen} without a token: set admin.token (e.g. token: \${SWITCHYARD_ADMIN_TOKEN}) or listen on 127.0.0.1`,
      );
    }
    const tls = proxy.tls ? await loadTls(proxy.tls) : undefined;
    for (const address of proxy.listen) {
      const server = new ProxyServer(this.runtime, tls);
      this.proxies.push(server);
      this.proxyAddresses.push(await server.listen(address));
    }
    this.adminAddress = await this.admin.listen(admin.listen);
    this.log.info(
      { proxy: this.proxyAddresses, admin: this.adminAddress, source: this.opts.source ?? 'inline', generation: this.runtime.current.generation },
      'switchyard started',
    );
  }

  /** Stop listening, let in-flight requests finish, then close upstream connections. */
  async close(): Promise<void> {
    this.rollouts.close();
    await Promise.all([...this.proxies.map((p) => p.close()), this.admin.close()]);
    await this.runtime.close();
  }
}
