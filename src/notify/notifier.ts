import { createHmac } from 'node:crypto';
import type { Config } from '../config/schema/config-schema.js';
import type { HistoryEntry, HistoryEvent } from '../core/history.js';
import type { Logger } from '../log.js';

/** The webhook event name of each history event that is sent (the others are not). */
const EVENT_OF: Partial<Record<HistoryEvent, Config['notifications'][number]['events'][number]>> = {
  switch: 'switch',
  rollback: 'rollback',
  rollout_started: 'rollout_started',
  rollout_step: 'rollout_step',
  rollout_judgement: 'judgement',
  rollout_paused: 'paused',
  rollout_resumed: 'resumed',
  rollout_succeeded: 'succeeded',
  rollout_rolled_back: 'rolled_back',
  rollout_aborted: 'aborted',
};

/** Deliveries waiting per endpoint; beyond it the oldest is dropped (and counted): a dead receiver cannot grow memory. */
export const QUEUE_LIMIT = 1000;
/** Tries per event: the first and four retries, 0.5 s, 1 s, 2 s and 4 s apart. */
const ATTEMPTS = 5;
const FIRST_RETRY_MS = 500;

/** One webhook endpoint's figures, for GET /status and /metrics. */
export interface EndpointView {
  readonly url: string;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
  readonly last_error: string | null;
  readonly last_error_at: string | null;
  /** The last event sent to it failed. */
  readonly failing: boolean;
}

interface Delivery {
  readonly body: string;
  readonly secret?: string;
  readonly timeoutMs: number;
}

/** One receiver: its queue, sent one at a time in order, with retries. */
class Endpoint {
  readonly queue: Delivery[] = [];
  sent = 0;
  failed = 0;
  dropped = 0;
  lastError: string | null = null;
  lastErrorAt: number | null = null;
  lastSentAt: number | null = null;
  private running = false;
  private closed = false;

  constructor(
    readonly url: string,
    private readonly log: Logger,
  ) {}

  push(d: Delivery): void {
    if (this.queue.length >= QUEUE_LIMIT) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(d);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (!this.closed && this.queue.length > 0) {
      const d = this.queue[0];
      const error = await this.deliver(d);
      this.queue.shift();
      if (error === undefined) {
        this.sent++;
        this.lastSentAt = Date.now();
      } else {
        this.failed++;
        this.lastError = error;
        this.lastErrorAt = Date.now();
        this.log.warn({ webhook: redact(this.url), err: error }, 'a webhook event could not be delivered');
      }
    }
    this.running = false;
  }

  /** Send one event, retrying network errors, timeouts, 429 and 5xx with backoff; undefined once delivered, else why not. */
  private async deliver(d: Delivery): Promise<string | undefined> {
    let why = '';
    for (let attempt = 0; attempt < ATTEMPTS && !this.closed; attempt++) {
      if (attempt > 0) await sleep(FIRST_RETRY_MS * 2 ** (attempt - 1));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'switchyard' };
      if (d.secret) headers['x-switchyard-signature'] = `sha256=${createHmac('sha256', d.secret).update(d.body).digest('hex')}`;
      try {
        const res = await fetch(this.url, { method: 'POST', headers, body: d.body, signal: AbortSignal.timeout(d.timeoutMs), redirect: 'manual' });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return undefined;
        why = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) return why; // the receiver refused it: sending it again would not help
      } catch (err) {
        why = err instanceof Error ? (err.name === 'TimeoutError' ? `no answer within ${d.timeoutMs} ms` : err.message) : String(err);
      }
    }
    return why;
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * Webhooks (SPEC 12): every switch, rollback and rollout event recorded here is POSTed as JSON
 * (with a Slack-compatible `text`) to each `notifications[]` endpoint that asked for it, signed
 * when the endpoint has a secret. Sending never holds up the change: an event is queued
 * (bounded) and each endpoint is served one event at a time, in order, with retries. In a fleet
 * each event is sent once, by the instance where it happened (`via: fleet` entries are not).
 */
export class Notifier {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(
    private readonly config: () => Config,
    private readonly log: Logger,
    private readonly instance?: string,
  ) {}

  /** A history entry was recorded (History.onEntry). */
  entry(service: string, e: HistoryEntry): void {
    const event = EVENT_OF[e.event];
    if (event === undefined || e.via === 'fleet') return;
    const wanted = this.config().notifications.filter((n) => n.events.includes(event));
    if (wanted.length === 0) return;
    const body = JSON.stringify({
      event,
      service,
      at: e.at,
      traffic: e.traffic,
      generation: e.generation,
      via: e.via,
      by: e.by,
      ...(e.detail ? { detail: e.detail } : {}),
      ...(e.verdict ? { verdict: e.verdict } : {}),
      ...(this.instance ? { instance: this.instance } : {}),
      text: text(event, service, e),
    });
    for (const n of wanted) {
      let endpoint = this.endpoints.get(n.url);
      if (!endpoint) this.endpoints.set(n.url, (endpoint = new Endpoint(n.url, this.log)));
      endpoint.push({ body, secret: n.secret, timeoutMs: n.timeout });
    }
  }

  /** Every endpoint that was sent to, with its figures. */
  view(): EndpointView[] {
    return [...this.endpoints.values()].map((e) => ({
      url: redact(e.url),
      sent: e.sent,
      failed: e.failed,
      dropped: e.dropped,
      queued: e.queue.length,
      last_error: e.lastError,
      last_error_at: e.lastErrorAt === null ? null : new Date(e.lastErrorAt).toISOString(),
      failing: e.lastErrorAt !== null && (e.lastSentAt === null || e.lastErrorAt > e.lastSentAt),
    }));
  }

  /** Stop sending (shutdown); what is queued is dropped. */
  close(): void {
    for (const e of this.endpoints.values()) e.close();
  }
}

/** A line for Slack (and people): what happened to the service, and where its traffic goes now. */
function text(event: string, service: string, e: HistoryEntry): string {
  const traffic = Object.entries(e.traffic)
    .map(([name, pct]) => `${name} ${pct}%`)
    .join(', ');
  const verdict = e.verdict ? ` (${e.verdict})` : '';
  const detail = e.detail ? `: ${e.detail}` : '';
  return `switchyard: ${service} ${event.replace(/_/g, ' ')}${verdict}${detail}; traffic now ${traffic} (by ${e.via} ${e.by})`;
}

/** A URL without credentials or query (a Slack webhook's path is its secret: only its host is shown). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? '/…' : '/'}`;
  } catch {
    return 'webhook';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
