import type { Dispatcher } from 'undici';
import type { Target } from '../core/targets.js';
import type { TrafficRecorder } from '../core/traffic.js';
import { Capture } from './capture.js';
import { type Captured, type CompareSettings, compareResponses, type Difference, SECRET } from './compare.js';
import type { MirrorResult, MirrorSample, MirrorStats } from './stats.js';

/** What a pair needs of its service's mirror. */
export interface PairSettings {
  readonly compare: CompareSettings;
  readonly maxBody: number;
  readonly timeoutMs: number;
  readonly stats: MirrorStats;
  /** Compared pairs (requests) and the ones that did not match (errors), for a rollout's shadow phase. */
  readonly recorder: TrafficRecorder;
}

/** The mirror's request, as it will be sent once its body (if any) is whole. */
export interface MirrorRequest {
  /** Undefined when the mirror's upstream has no healthy target: the pair then ends as a mirror error. */
  readonly target: Target | undefined;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  /** The client's request target, for samples. */
  readonly url: string;
}

const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'MIRROR_TIMEOUT']);

/**
 * One client request and its copy. The primary's response is captured as the Exchange
 * streams it to the client (the Exchange calls primaryHead/Data/End and nothing else);
 * the copy goes to the mirror as an undici handler of its own, read to the end and kept
 * up to max_body. When both have ended they are compared and counted, once. Nothing here
 * throws into the client's exchange or waits for it.
 */
export class MirrorPair implements Dispatcher.DispatchHandler {
  private readonly primary: Capture;
  private readonly mirror: Capture;
  private primaryResult: Captured | null | undefined;
  /** The mirror's response, or why there is none ('timeout', 'error: CODE'); undefined while awaited. */
  private mirrorResult: Captured | string | undefined;
  private sentAt = 0;
  private settled = false;
  private abortMirror: ((err?: Error) => void) | undefined;
  /** The pair's whole-life bound: idle timeouts alone would let a streamed answer (SSE) hold its slot for ever. */
  private deadline: NodeJS.Timeout | undefined;

  /** `awaitsBody`: the copy goes once a tap has the whole request body; else start() sends it. */
  constructor(
    private readonly settings: PairSettings,
    private readonly request: MirrorRequest,
    private readonly awaitsBody: boolean,
  ) {
    settings.stats.inflight++;
    this.primary = new Capture(settings.compare.headers, settings.maxBody);
    this.mirror = new Capture(settings.compare.headers, settings.maxBody);
  }

  /** The client's request is on its way: a copy without a body follows it now (never ahead of it). */
  start(): void {
    if (!this.awaitsBody) this.send(null);
  }

  /** Send the copy (with the whole request body, if it has one). */
  send(body: Buffer | null): void {
    if (this.settled || this.sentAt !== 0) return;
    this.sentAt = performance.now();
    const { target, method, path, headers } = this.request;
    if (target === undefined) {
      this.onError(Object.assign(new Error('no healthy target'), { code: 'NO_HEALTHY_TARGET' }));
      return;
    }
    const timeoutMs = this.settings.timeoutMs;
    this.deadline = setTimeout(() => this.expire(), timeoutMs);
    this.deadline.unref();
    try {
      target.dispatcher.dispatch(
        { origin: target.origin, path, method: method as Dispatcher.HttpMethod, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        this,
      );
    } catch (err) {
      // A target closed by a reload a moment ago refuses new requests: an error of the mirror's, not the client's.
      this.onError(err as Error);
    }
  }

  /** The copy cannot be sent as a whole (its body grew past max_body). */
  giveUp(result: 'too_large'): void {
    this.finish(result);
  }

  primaryHead(status: number, raw: readonly Buffer[]): void {
    this.primary.head(status, raw);
  }

  primaryData(chunk: Buffer): void {
    this.primary.data(chunk);
  }

  /** The client's exchange ended: `ok` when its response was whole. */
  primaryEnd(ok: boolean): void {
    if (this.primaryResult !== undefined) return;
    this.primaryResult = ok ? this.primary.done() : null;
    // A copy not sent by now never will be (an answer that came before the whole body was read ends the upload).
    if (this.sentAt === 0) this.finish('unpaired');
    else this.compare();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort();
    else this.abortMirror = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.mirror.head(statusCode, rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.mirror.data(chunk);
    return true;
  }

  onComplete(): void {
    this.mirrorResult = this.mirror.done();
    this.compare();
  }

  onError(err: Error & { code?: string }): void {
    if (this.mirrorResult !== undefined) return;
    const code = err.code ?? '';
    this.mirrorResult = TIMEOUT.has(code) ? `timeout (${code})` : `error: ${code || err.message}`;
    this.compare();
  }

  /** The pair outlived its timeout as a whole: a mirror still answering is a timeout; a client's stream still going leaves nothing to compare. */
  private expire(): void {
    this.deadline = undefined;
    if (this.mirrorResult !== undefined) {
      this.finish('unpaired');
      return;
    }
    this.onError(Object.assign(new Error('the mirror did not finish in time'), { code: 'MIRROR_TIMEOUT' }));
    this.abortMirror?.();
  }

  /** Both sides have ended: compare them after the client's response is on its way, never in its path. */
  private compare(): void {
    if (this.settled || this.primaryResult === undefined || this.mirrorResult === undefined) return;
    setImmediate(this.settle);
  }

  private readonly settle = (): void => {
    const p = this.primaryResult;
    const m = this.mirrorResult;
    if (this.settled || p === undefined || m === undefined) return;
    if (p === null) {
      this.finish('unpaired');
      return;
    }
    if (typeof m === 'string') {
      this.finish(m.startsWith('timeout') ? 'mirror_timeout' : 'mirror_error', p, undefined, m);
      return;
    }
    let diff: Difference | undefined;
    try {
      diff = compareResponses(p, m, this.settings.compare);
    } catch (err) {
      diff = { kind: 'body', diff: `could not compare: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (diff === undefined) this.finish('match', p, m);
    else this.finish(`mismatch_${diff.kind}`, p, m, diff.diff, diff.headers);
  };

  private finish(result: MirrorResult, p?: Captured, m?: Captured, diff?: string, headers?: readonly string[]): void {
    if (this.settled) return;
    this.settled = true;
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    const { stats, recorder } = this.settings;
    stats.inflight--;
    stats.count(result);
    if (result === 'too_large' || result === 'unpaired') return;
    const now = performance.now();
    stats.outcome(result === 'mirror_error' || result === 'mirror_timeout', now);
    recorder.record(now - this.sentAt, result !== 'match');
    if (result !== 'match') stats.sample(this.sampleOf(result, p, m, diff, headers));
  }

  private sampleOf(result: MirrorResult, p?: Captured, m?: Captured, diff?: string, headers?: readonly string[]): MirrorSample {
    const { url } = this.request;
    const q = url.indexOf('?');
    const shown = (c: Captured | undefined, h: string) => (c?.headers.get(h) === undefined ? null : SECRET.test(h) ? '[redacted]' : (c.headers.get(h) ?? null));
    return {
      at: Date.now(),
      result,
      method: this.request.method,
      path: q < 0 ? url : url.slice(0, q),
      primary_status: p?.status ?? null,
      mirror_status: m?.status ?? null,
      ...(headers && headers.length > 0 ? { headers: Object.fromEntries(headers.map((h) => [h, [shown(p, h), shown(m, h)] as const])) } : {}),
      ...(diff !== undefined ? { diff } : {}),
    };
  }
}
