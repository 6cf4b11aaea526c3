import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { fileURLToPath } from 'node:url';
import type { Replicas } from '../core/pipeline.js';
import type { Snapshot } from '../core/snapshot.js';
import type { ProxyState } from '../core/state.js';
import type { Logger } from '../log.js';
import type { MetricsJson } from '../metrics/metrics.js';
import { type MirrorReport, mergeByService } from '../mirror/stats.js';
import type { ToPrimary, ToWorker } from './messages.js';
import { ClusterTraffic } from './traffic.js';

/** How long a change waits for a worker to confirm it, and a scrape or a count for a worker's answer. */
export const CONFIRM_MS = 1000;
/** A worker that exits sooner than this after it started counts as a quick failure: its restart waits longer each time. */
const STABLE_MS = 10_000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;

const WORKER_ENTRY = fileURLToPath(new URL('./worker-main.js', import.meta.url));

/** How workers share the listeners: SO_REUSEPORT sockets (the kernel spreads connections) or node:cluster's primary. */
export type Distribution = 'reuseport' | 'cluster';

/** reusePort needs Node 22.12 or later (and Linux, where switchyard's workers run). */
export function defaultDistribution(): Distribution {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return process.platform === 'linux' && (major > 22 || (major === 22 && minor >= 12)) ? 'reuseport' : 'cluster';
}

export interface WorkerPoolOptions {
  readonly count: number;
  readonly distribution: Distribution;
  readonly logLevel: string;
  readonly log: Logger;
}

/** One worker slot (1…N); its process changes when it is restarted. */
interface Slot {
  readonly slot: number;
  worker?: Worker;
  state: 'starting' | 'serving' | 'stopped';
  startedAt: number;
  /** The generation it serves. */
  generation: number;
  connections: number;
  requests: number;
  restarts: number;
  quickFailures: number;
  restartTimer?: NodeJS.Timeout;
}

/** A change waiting for workers to confirm it. */
interface Waiter {
  readonly generation: number;
  readonly pending: Set<Slot>;
  readonly resolve: (lagging: string[]) => void;
  readonly timer: NodeJS.Timeout;
}

/** What GET /status shows of the workers. */
export interface WorkersView {
  readonly distribution: Distribution;
  readonly workers: readonly {
    slot: number;
    pid?: number;
    state: Slot['state'];
    generation: number;
    connections: number;
    requests: number;
    restarts: number;
    uptime_seconds: number;
  }[];
  /** The last change: when each worker began to serve it, relative to the first one. */
  readonly last_change?: { generation: number; confirmed: number; spread_ms: number; slowest_ms: number };
}

/**
 * The proxy workers, seen from the primary. Each worker is a replica: it gets the running
 * config as a generation, applies it and reports it. A change is published to every
 * worker and its admin answer waits until each live one confirms (or CONFIRM_MS passes,
 * and the answer names the ones that did not). Health is decided here and its changes
 * sent out; workers send back passive-health outcomes, rollout traffic and metrics. A
 * worker that dies is restarted with backoff; close() drains them all.
 */
export class WorkerPool implements Replicas {
  readonly traffic = new ClusterTraffic(() => this.refresh());
  /** Bound listener addresses (port 0 resolved by the first worker). */
  addresses: string[] = [];
  /** What workers are told to bind. */
  private listen: string[] = [];
  private readonly slots: Slot[] = [];
  private waiters: Waiter[] = [];
  private readonly asks = new Map<number, { pending: Set<Slot>; done: () => void }>();
  /** Each live worker's last metrics, and the counters of workers that exited. */
  private readonly lastMetrics = new Map<number, MetricsJson>();
  private readonly retiredMetrics: MetricsJson[] = [];
  /** Each live worker's last mirror reports, and those of workers that exited (merged). */
  private readonly lastMirrors = new Map<number, Readonly<Record<string, MirrorReport>>>();
  private retiredMirrors: Record<string, MirrorReport> = {};
  private nextId = 1;
  private closing = false;
  private lastChange?: { generation: number; publishedAt: number; applied: Map<number, number> };

  constructor(
    private readonly state: ProxyState,
    private readonly opts: WorkerPoolOptions,
  ) {
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });
    state.health.onTransition((h) => this.broadcast({ t: 'health', address: h.address, healthy: h.healthy, source: h.source }));
  }

  /**
   * Start every worker: the first alone, then the rest. With reuseport each worker binds its
   * own socket, so the others bind the port the first one got for port 0; node:cluster's
   * primary shares one socket per configured address, port 0 included.
   */
  async start(): Promise<string[]> {
    for (let i = 1; i <= this.opts.count; i++) this.slots.push(newSlot(i));
    this.listen = [...this.state.current.config.proxy.listen];
    this.addresses = await this.spawn(this.slots[0]);
    if (this.opts.distribution === 'reuseport') this.listen = this.addresses;
    await Promise.all(this.slots.slice(1).map((s) => this.spawn(s)));
    return this.addresses;
  }

  /** Send a generation to every worker; resolves when each serving one runs it, or after CONFIRM_MS with a line per one that does not. */
  publish(snapshot: Snapshot): Promise<string[]> {
    const { generation, config } = snapshot;
    this.lastChange = { generation, publishedAt: Date.now(), applied: new Map() };
    this.broadcast({ t: 'config', generation, config });
    const pending = new Set(this.slots.filter((s) => s.state === 'serving' && s.generation < generation));
    if (pending.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.expire(waiter), CONFIRM_MS);
      const waiter: Waiter = { generation, pending, resolve, timer };
      this.waiters.push(waiter);
    });
  }

  /** Ask every serving worker for its counts now; resolves when all answered (or CONFIRM_MS passed). Never rejects. */
  async refresh(): Promise<void> {
    await this.ask((s, id) => this.send(s, { t: 'report', seq: id }));
  }

  /**
   * Every worker's metrics for a scrape. A worker that does not answer within CONFIRM_MS
   * counts with its last answer, and one that exited keeps its counters and histograms in
   * the sum, so that summed counters never go back (Prometheus would read a reset).
   */
  async metrics(): Promise<MetricsJson[]> {
    await this.ask((s, id) => this.send(s, { t: 'metrics', id }));
    return [...this.lastMetrics.values(), ...this.retiredMetrics];
  }

  /** Every worker's mirror reports, merged service by service (a worker that does not answer in time counts with its last). */
  async mirrors(): Promise<Record<string, MirrorReport>> {
    await this.ask((s, id) => this.send(s, { t: 'mirror', id }));
    return mergeByService([...this.lastMirrors.values(), this.retiredMirrors]);
  }

  /** The workers for GET /status. */
  view(): WorkersView {
    const now = Date.now();
    const last = this.lastChange;
    const times = last ? [...last.applied.values()] : [];
    return {
      distribution: this.opts.distribution,
      workers: this.slots.map((s) => ({
        slot: s.slot,
        pid: s.worker?.process.pid,
        state: s.state,
        generation: s.generation,
        connections: s.connections,
        requests: s.requests,
        restarts: s.restarts,
        uptime_seconds: s.state === 'serving' ? Math.round((now - s.startedAt) / 1000) : 0,
      })),
      ...(last && times.length > 0
        ? {
            last_change: {
              generation: last.generation,
              confirmed: times.length,
              spread_ms: round(Math.max(...times) - Math.min(...times)),
              slowest_ms: round(Math.max(...times) - last.publishedAt),
            },
          }
        : {}),
    };
  }

  /** Drain every worker (each finishes its in-flight requests within shutdown_timeout) and wait for them to exit. */
  async close(): Promise<void> {
    this.closing = true;
    const exits: Promise<void>[] = [];
    for (const s of this.slots) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      const w = s.worker;
      if (!w || w.isDead()) continue;
      exits.push(new Promise((resolve) => w.once('exit', () => resolve())));
      this.send(s, { t: 'drain' });
    }
    // Within the CLI's own bound (shutdown_timeout + 2 s), so that a stuck worker is killed before the primary exits.
    const bound = this.state.current.config.proxy.shutdown_timeout + 1000;
    const timer = setTimeout(() => {
      for (const s of this.slots) if (s.worker && !s.worker.isDead()) s.worker.process.kill('SIGKILL');
    }, bound);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  /** Fork a worker into a slot and resolve with its bound addresses once it serves; rejects if it cannot start. */
  private spawn(slot: Slot): Promise<string[]> {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    slot.connections = slot.requests = 0;
    // A message to a worker that has just died fails with EPIPE: its exit is handled below.
    worker.on('error', (err) => this.opts.log.debug({ slot: slot.slot, err: err.message }, 'could not message a proxy worker'));
    return new Promise((resolve, reject) => {
      worker.on('message', (m: ToPrimary) => {
        // A message still on its way from a worker that has exited counts for nothing.
        if (slot.worker !== worker) return;
        if (m.t === 'hello' && this.closing) this.send(slot, { t: 'drain' });
        else if (m.t === 'hello') this.setup(slot);
        else if (m.t === 'ready') {
          slot.state = 'serving';
          // Still behind a change published while it started (it could not apply it): the change's answer waits for it too.
          for (const w of this.waiters) if (slot.generation < w.generation) w.pending.add(slot);
          this.opts.log.info({ slot: slot.slot, pid: worker.process.pid, listen: m.addresses }, 'proxy worker serving');
          resolve([...m.addresses]);
        } else if (m.t === 'failed') reject(new Error(`proxy worker ${slot.slot} could not start: ${m.message}`));
        else this.received(slot, m);
      });
      worker.on('exit', (code, signal) => {
        reject(new Error(`proxy worker ${slot.slot} exited while starting (code ${code}, signal ${signal})`));
        this.exited(slot, worker, code, signal);
      });
    });
  }

  /** The running config and health as they are now: a change published before this reached the worker in its setup. */
  private setup(slot: Slot): void {
    const snap = this.state.current;
    slot.generation = snap.generation;
    this.send(slot, {
      t: 'setup',
      config: snap.config,
      generation: snap.generation,
      health: [...this.state.health.all()].map((h) => ({ address: h.address, healthy: h.healthy, source: h.source })),
      listen: this.listen,
      reusePort: this.opts.distribution === 'reuseport',
      logLevel: this.opts.logLevel,
    });
  }

  private received(slot: Slot, m: ToPrimary): void {
    switch (m.t) {
      case 'applied':
        slot.generation = Math.max(slot.generation, m.generation);
        if (this.lastChange?.generation === m.generation) this.lastChange.applied.set(slot.slot, m.at);
        this.confirm(slot);
        return;
      case 'passive':
        this.passive(m.events);
        return;
      case 'report':
        slot.connections = m.connections;
        slot.requests = m.requests;
        this.traffic.update(slot.slot, m.traffic);
        if (m.seq >= 0) this.answer(m.seq, slot);
        return;
      case 'metrics':
        this.answer(m.id, slot, m.metrics);
        return;
      case 'mirror':
        this.lastMirrors.set(slot.slot, m.reports);
        this.answer(m.id, slot);
        return;
    }
  }

  /** Outcomes workers saw, counted here with the upstream's thresholds (and cool-down). */
  private passive(events: Extract<ToPrimary, { t: 'passive' }>['events']): void {
    const snap = this.state.current;
    for (const [upstream, address, outcome, detail] of events) {
      const up = snap.upstreams.get(upstream);
      const member = up?.pool.members.find((m) => m.member.address === address);
      if (up?.passive && member) up.passive.count(member.member.health, outcome, detail);
    }
  }

  private confirm(slot: Slot): void {
    for (const w of this.waiters) if (slot.generation >= w.generation) w.pending.delete(slot);
    this.settleWaiters();
  }

  private settleWaiters(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.pending.size > 0) return true;
      clearTimeout(w.timer);
      w.resolve([]);
      return false;
    });
  }

  private expire(w: Waiter): void {
    this.waiters = this.waiters.filter((x) => x !== w);
    const names = [...w.pending].map(
      (s) => `worker ${s.slot} (pid ${s.worker?.process.pid}) did not confirm generation ${w.generation} within ${CONFIRM_MS} ms`,
    );
    this.opts.log.warn({ generation: w.generation, workers: [...w.pending].map((s) => s.slot) }, 'workers did not confirm a change in time');
    w.resolve(names);
  }

  /** Send a request to every serving worker; resolves when each answered (by id) or CONFIRM_MS passed. */
  private ask(sendTo: (s: Slot, id: number) => void): Promise<void> {
    const id = this.nextId++;
    const pending = new Set(this.slots.filter((s) => s.state === 'serving'));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.asks.delete(id);
        resolve();
      };
      const timer = setTimeout(done, CONFIRM_MS);
      this.asks.set(id, { pending, done });
      for (const s of pending) sendTo(s, id);
      if (pending.size === 0) done();
    });
  }

  private answer(id: number, slot: Slot, metrics?: MetricsJson): void {
    if (metrics) this.lastMetrics.set(slot.slot, metrics);
    const ask = this.asks.get(id);
    if (!ask?.pending.delete(slot)) return;
    if (ask.pending.size === 0) ask.done();
  }

  /** A worker exited: keep its counts, stop waiting for it, and restart it (after a backoff if it keeps dying). */
  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.state = 'stopped';
    this.traffic.retire(slot.slot);
    const last = this.lastMetrics.get(slot.slot);
    this.lastMetrics.delete(slot.slot);
    if (last) void this.retire(last);
    const mirrors = this.lastMirrors.get(slot.slot);
    this.lastMirrors.delete(slot.slot);
    if (mirrors) this.retiredMirrors = mergeByService([this.retiredMirrors, mirrors]);
    for (const w of this.waiters) w.pending.delete(slot);
    this.settleWaiters();
    for (const ask of this.asks.values()) if (ask.pending.delete(slot) && ask.pending.size === 0) ask.done();
    if (this.closing) return;
    slot.quickFailures = Date.now() - slot.startedAt < STABLE_MS ? slot.quickFailures + 1 : 0;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** slot.quickFailures);
    this.opts.log.error({ slot: slot.slot, pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'proxy worker died: restarting it');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      slot.restarts++;
      this.spawn(slot).catch((err: unknown) => this.opts.log.error({ slot: slot.slot, err: String(err) }, 'proxy worker could not restart'));
    }, delay);
  }

  /** Fold an exited worker's counters and histograms into one running total, so that a crash loop does not grow it. */
  private async retire(last: MetricsJson): Promise<void> {
    // prom-client types `type` as an enum, but its JSON carries the names.
    const kept = last.filter((m) => ['counter', 'histogram'].includes(String(m.type)));
    const total = await AggregatorRegistry.aggregate([...this.retiredMetrics, kept]).getMetricsAsJSON();
    this.retiredMetrics.splice(0, this.retiredMetrics.length, total);
  }

  private broadcast(message: ToWorker): void {
    for (const s of this.slots) if (s.state !== 'stopped') this.send(s, message);
  }

  private send(slot: Slot, message: ToWorker): void {
    const w = slot.worker;
    if (w?.isConnected()) w.send(message);
  }
}

function newSlot(slot: number): Slot {
  return { slot, state: 'stopped', startedAt: 0, generation: 0, connections: 0, requests: 0, restarts: 0, quickFailures: 0 };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
