import type { ServerResponse } from 'node:http';
import { type Reading, type TrafficSource, windowBetween } from '../core/traffic.js';
import type { AdminContext } from './context.js';
import { mirrorView } from './mirror.js';
import { rolloutView } from './rollouts.js';
import type { AdminRoute } from './router.js';
import { serviceView, targetsView } from './views.js';

/** How often the dashboard's feed sends the state. */
export const FEED_INTERVAL_MS = 1000;
/** History entries per service in each message. */
const HISTORY = 20;

/** One upstream's traffic over the last tick: what the dashboard charts by colour. */
interface Rates {
  readonly rps: number;
  readonly error_rate: number;
  readonly p99_ms: number | null;
}

/**
 * The dashboard's live feed, `GET /ui/events`: server-sent events, one message a second with
 * everything the page shows (services and their split, rollouts and judgements, targets and
 * health, history, the last second's req/s, error rate and p99 per upstream, workers and the
 * fleet). One ticker serves every open page, and runs only while one is open: no polling
 * storm, and nothing at all without a dashboard. It is read with fetch(), so the admin token
 * guards it like any admin call (EventSource could not send it).
 */
export class LiveFeed {
  private readonly pages = new Set<ServerResponse>();
  private timer?: NodeJS.Timeout;
  /** Set at shutdown: a page reconnecting then is ended at once. */
  private closed = false;
  private last = new Map<string, { at: number; reading: Reading }>();

  constructor(
    private readonly ctx: AdminContext,
    /** This process's traffic per upstream (summed over its workers). */
    private readonly traffic: TrafficSource,
  ) {}

  routes(): AdminRoute[] {
    return [{ methods: ['GET'], path: '/ui/events', handler: () => ({ status: 200, stream: (res) => this.open(res) }) }];
  }

  private open(res: ServerResponse): void {
    if (this.closed) {
      res.end();
      return;
    }
    this.pages.add(res);
    res.on('close', () => {
      this.pages.delete(res);
      if (this.pages.size === 0) this.stop();
    });
    // The first state at once, then every tick.
    void this.message().then(
      (m) => send(res, m),
      () => undefined,
    );
    this.timer ??= setInterval(() => void this.tick(), FEED_INTERVAL_MS);
  }

  private async tick(): Promise<void> {
    const m = await this.message().catch(() => undefined);
    if (m !== undefined) for (const res of this.pages) send(res, m);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Close every open page (shutdown). */
  close(): void {
    this.closed = true;
    for (const res of this.pages) res.end();
    this.pages.clear();
    this.stop();
  }

  private async message(): Promise<string> {
    const { pipeline, rollouts, workers, fleet } = this.ctx;
    await this.traffic.refresh?.();
    const snap = pipeline.current;
    const mirrors = await this.ctx.mirrors();
    const services = [...snap.services.values()].map((svc) => ({
      ...serviceView(svc),
      rollout: rollouts.find(svc.name) ? rolloutView(rollouts.get(svc.name)) : null,
      history: pipeline.history.list(svc.name).slice(-HISTORY),
      mirror: svc.config.mirror ? mirrorView(svc.name, svc.config.mirror, mirrors[svc.name]) : null,
    }));
    const upstreams = [...snap.upstreams.values()].filter((u) => u.config).map((u) => ({ name: u.name, targets: targetsView(u), rates: this.rates(u.name) }));
    const state = {
      at: new Date().toISOString(),
      generation: fleet ? fleet.version : snap.generation,
      config_hash: snap.hash,
      services,
      upstreams,
      workers: workers?.view().workers ?? null,
      fleet: fleet ? { ...fleet.view(), instances: await fleet.instances().catch(() => []) } : null,
    };
    return `data: ${JSON.stringify(state)}\n\n`;
  }

  /** An upstream's traffic since the last message, per second. */
  private rates(upstream: string): Rates | null {
    const now = Date.now();
    const reading = this.traffic.read(upstream);
    const before = this.last.get(upstream);
    this.last.set(upstream, { at: now, reading });
    if (!before || now <= before.at) return null;
    const w = windowBetween(before.reading, reading);
    const seconds = (now - before.at) / 1000;
    return { rps: Math.round((w.requests / seconds) * 10) / 10, error_rate: w.requests === 0 ? 0 : w.errors / w.requests, p99_ms: w.p99Ms ?? null };
  }
}

/** A page that has not read this much of the feed is stuck (a frozen tab): it is dropped rather than buffered for. */
const MAX_UNREAD = 1024 * 1024;

/** Write to a page still open (one that went away is dropped by its close event). */
function send(res: ServerResponse, message: string): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.writableLength > MAX_UNREAD) res.destroy();
  else res.write(message);
}
