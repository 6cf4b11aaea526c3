import { performance } from 'node:perf_hooks';
import { systemClock } from '../clock.js';
import { RequestStatsStore } from '../core/request-stats.js';
import { ProxyState } from '../core/state.js';
import { HealthRegistry } from '../health/registry.js';
import type { HealthSource, Outcome, TargetHealth, Thresholds } from '../health/state.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { limitsOf, loadTls, ProxyServer } from '../proxy/server.js';
import type { PassiveEvent, ToPrimary, ToWorker, TrafficCounts, WorkerSetup } from './messages.js';

/** How often a worker sends its figures (connections, requests, rollout traffic) unasked. */
const REPORT_MS = 250;
/** Passive-health outcomes are sent in batches at most this old, so a failing target costs one message per batch, not one per request. */
const PASSIVE_BATCH_MS = 5;
const PASSIVE_BATCH_MAX = 512;

type Send = (message: ToPrimary) => void;
/** The messages a running worker handles. */
type Served = Exclude<ToWorker, { t: 'setup' } | { t: 'drain' }>;

/**
 * A worker's health: the primary decides every target's state and sends transitions here.
 * Outcomes the proxy sees (passive checks) go to the primary instead of being judged
 * locally. The local counts only remember that a failure was reported, so that the next
 * success is reported too (PassiveMonitor skips successes on a target with no failures).
 */
class ReportedHealth extends HealthRegistry {
  private batch: PassiveEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: Send) {
    super();
  }

  override record(health: TargetHealth, outcome: Outcome, _t: Thresholds, _source: HealthSource, detail: string, upstream = ''): void {
    if (outcome === 'success') health.httpFailures = health.tcpFailures = health.timeouts = 0;
    else if (outcome === 'http_failure') health.httpFailures++;
    else if (outcome === 'tcp_failure') health.tcpFailures++;
    else health.timeouts++;
    this.batch.push([upstream, health.address, outcome, detail]);
    if (this.batch.length >= PASSIVE_BATCH_MAX) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), PASSIVE_BATCH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    this.send({ t: 'passive', events: this.batch });
    this.batch = [];
  }
}

/**
 * A proxy worker: a replica of the primary's running snapshot that serves the proxy
 * listeners. It applies each generation the primary sends and reports it; it reports
 * traffic, passive-health outcomes and metrics; health and config come from the primary.
 */
export class ProxyWorker {
  readonly state: ProxyState;
  private readonly health: ReportedHealth;
  private readonly servers: ProxyServer[] = [];
  /** Bound "host:port" of each listener, in the order of `servers`. */
  private readonly addresses: string[] = [];
  private readonly metrics?: Metrics;
  private readonly reported = new Map<string, number>();
  private readonly reportTimer: NodeJS.Timeout;
  private draining?: Promise<void>;

  private constructor(
    setup: WorkerSetup,
    private readonly send: Send,
    private readonly log: Logger,
  ) {
    this.health = new ReportedHealth(send);
    for (const h of setup.health) this.health.get(h.address).set(h.healthy, h.source);
    const stats = setup.config.metrics.enabled ? new RequestStatsStore() : undefined;
    this.state = new ProxyState(setup.config, systemClock, stats, { generation: setup.generation, health: this.health });
    if (stats) this.metrics = new Metrics({ requests: stats, mirrors: this.state.mirrors, connections: () => this.connectionsByListener() });
    this.reportTimer = setInterval(() => this.report(-1), REPORT_MS);
    this.reportTimer.unref();
  }

  /** Build the worker from its setup and bind its listeners; the caller says `ready` with the addresses. */
  static async start(setup: WorkerSetup, send: Send, log: Logger): Promise<{ worker: ProxyWorker; addresses: string[] }> {
    const worker = new ProxyWorker(setup, send, log);
    const { proxy } = setup.config;
    const tls = proxy.tls ? await loadTls(proxy.tls) : undefined;
    const limits = limitsOf(proxy);
    for (const address of setup.listen) {
      const server = new ProxyServer(worker.state, { tls, limits, log, stats: worker.state.requestStats, http2: proxy.http2 });
      worker.servers.push(server);
      worker.addresses.push(await server.listen(address, setup.reusePort));
    }
    return { worker, addresses: [...worker.addresses] };
  }

  /** Handle one message from the primary (setup and drain are the process's, see runWorker). */
  handle(message: Served): void {
    switch (message.t) {
      case 'config':
        this.apply(message.generation, message.config);
        return;
      case 'health':
        this.health.set(this.health.get(message.address), message.healthy, message.source, 'decided by the primary');
        return;
      case 'report':
        this.report(message.seq);
        return;
      case 'metrics':
        void this.sendMetrics(message.id);
        return;
      case 'mirror':
        this.send({ t: 'mirror', id: message.id, reports: this.state.mirrors.reports() });
        return;
    }
  }

  /** Stop listening, let in-flight requests finish, close upstream connections. */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      clearInterval(this.reportTimer);
      await Promise.all(this.servers.map((s) => s.close()));
      this.health.flush();
      this.report(-1);
      await this.state.close();
    })();
    return this.draining;
  }

  private apply(generation: number, config: WorkerSetup['config']): void {
    const started = performance.now();
    try {
      this.state.swap(config, generation);
    } catch (err) {
      // The primary validated it; if it still cannot be built here, the old snapshot serves and the primary's wait names this worker.
      this.log.error({ generation, err: err instanceof Error ? err.message : String(err) }, 'could not apply a config generation');
      return;
    }
    const done = performance.now();
    this.send({ t: 'applied', generation, at: performance.timeOrigin + done, ms: done - started });
  }

  /** Send connections, requests and the traffic counts that changed (seq -1: unasked). */
  private report(seq: number): void {
    const traffic: Record<string, TrafficCounts> = {};
    for (const [upstream, r] of this.state.traffic.entries()) {
      if (this.reported.get(upstream) === r.requests && seq < 0) continue;
      this.reported.set(upstream, r.requests);
      traffic[upstream] = { requests: r.requests, errors: r.errors, buckets: Array.from(r.buckets) };
    }
    let connections = 0;
    let requests = 0;
    for (const s of this.servers) {
      connections += s.connections;
      requests += s.requests;
    }
    this.send({ t: 'report', seq, connections, requests, traffic });
  }

  private async sendMetrics(id: number): Promise<void> {
    this.send({ t: 'metrics', id, metrics: this.metrics ? await this.metrics.registry.getMetricsAsJSON() : [] });
  }

  private connectionsByListener(): Record<string, number> {
    return Object.fromEntries(this.servers.map((s, i) => [this.addresses[i] ?? String(i), s.connections]));
  }
}

/**
 * The worker process's main: wait for the setup, serve, follow the primary's messages. A
 * worker ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group): the
 * primary drains it. If the primary goes away, it drains and exits by itself.
 */
export function runWorker(): void {
  // With a callback, a send that fails (the primary just died) is not an 'error' event that crashes the worker.
  const send: Send = (m) => {
    if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
  };
  let worker: ProxyWorker | undefined;
  const early: Served[] = [];
  const exit = async () => {
    // A drain that hangs must not leave an orphan that ignores signals: exit within the primary's own bound.
    const bound = (worker?.state.current.config.proxy.shutdown_timeout ?? 0) + 500;
    setTimeout(() => process.exit(), bound).unref();
    await worker?.drain();
    process.exit();
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => void exit());
  const start = (setup: WorkerSetup) => {
    const log = createLogger(setup.logLevel).child({ worker: process.pid });
    ProxyWorker.start(setup, send, log).then(
      ({ worker: w, addresses }) => {
        worker = w;
        for (const m of early.splice(0)) w.handle(m);
        send({ t: 'ready', addresses });
      },
      (err: unknown) => {
        send({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
        process.exitCode = 1;
        process.disconnect();
      },
    );
  };
  process.on('message', (m: ToWorker) => {
    if (m.t === 'drain') void exit();
    else if (m.t === 'setup') start(m);
    // Changes that come while the listeners bind are applied once they are bound.
    else if (worker) worker.handle(m);
    else early.push(m);
  });
  send({ t: 'hello' });
}
