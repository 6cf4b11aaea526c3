import { performance } from 'node:perf_hooks';
import { Client } from 'undici';

/** One timed admin call: when it started and when its whole answer had arrived. */
export interface TimedCall {
  startMs: number;
  endMs: number;
  status: number;
  body: string;
  /** Time spent in switchyard, from its Server-Timing header (undefined when absent). */
  serverMs?: number;
}

/**
 * An admin API connection of its own, kept alive and warmed up before the first switch, so a
 * timed call measures the switch and not a TCP handshake or a queue behind the load.
 */
export class AdminClient {
  private readonly client: Client;

  constructor(
    adminUrl: string,
    private readonly origin: number,
  ) {
    this.client = new Client(adminUrl, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  }

  /** Open the connection (GET /status) and fail if the admin API does not answer 200. */
  async warm(): Promise<void> {
    const { statusCode, body } = await this.client.request({ path: '/status', method: 'GET' });
    const text = await body.text();
    if (statusCode !== 200) throw new Error(`admin GET /status answered ${statusCode}: ${text}`);
  }

  /** `PATCH /services/{service}` with a JSON body, timed from call to last byte of the answer. */
  patchService(service: string, change: Record<string, unknown>): Promise<TimedCall> {
    return this.call('PATCH', `/services/${encodeURIComponent(service)}`, JSON.stringify(change));
  }

  /** `PATCH /services/{service}?wait=fleet`: answered once every instance of the fleet applied it. */
  patchServiceFleetWide(service: string, change: Record<string, unknown>): Promise<TimedCall> {
    return this.call('PATCH', `/services/${encodeURIComponent(service)}?wait=fleet`, JSON.stringify(change));
  }

  /** `GET /upstreams/{upstream}/health`, timed the same way. */
  upstreamHealth(upstream: string): Promise<TimedCall> {
    return this.call('GET', `/upstreams/${encodeURIComponent(upstream)}/health`);
  }

  /** `POST /services/{service}/rollout` with a plan (SPEC 6). */
  startRollout(service: string, plan: Record<string, unknown>): Promise<TimedCall> {
    return this.call('POST', `/services/${encodeURIComponent(service)}/rollout`, JSON.stringify(plan));
  }

  /** `GET /services/{service}/rollout`: the current or last rollout. */
  rollout(service: string): Promise<TimedCall> {
    return this.call('GET', `/services/${encodeURIComponent(service)}/rollout`);
  }

  /** `GET /services/{service}/history`: switches, steps and judgements, oldest first. */
  history(service: string): Promise<TimedCall> {
    return this.call('GET', `/services/${encodeURIComponent(service)}/history`);
  }

  /** `GET /status`: status word, generation and config hash. */
  status(): Promise<TimedCall> {
    return this.call('GET', '/status');
  }

  /** One call, timed from its start to the last byte of its answer (times on the run's clock). */
  private async call(method: 'GET' | 'PATCH' | 'POST', path: string, json?: string): Promise<TimedCall> {
    const startMs = performance.now() - this.origin;
    const headers = json === undefined ? undefined : { 'content-type': 'application/json' };
    const { statusCode, body, headers: answer } = await this.client.request({ path, method, headers, body: json });
    const text = await body.text();
    const timing = /total;dur=([\d.]+)/.exec(String(answer['server-timing'] ?? ''));
    return { startMs, endMs: performance.now() - this.origin, status: statusCode, body: text, serverMs: timing ? Number(timing[1]) : undefined };
  }

  /** Close the connection. */
  close(): Promise<void> {
    return this.client.close();
  }
}
