import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Config } from '../config/schema/config-schema.js';
import type { Target } from '../core/targets.js';
import type { TrafficRecorder } from '../core/traffic.js';
import { RequestTap } from './capture.js';
import { type JsonPath, parseJsonPath } from './json-paths.js';
import { MirrorPair, type PairSettings } from './pair.js';
import type { MirrorStats } from './stats.js';

/** A service's `mirror:` block. */
export type MirrorConfig = NonNullable<Config['services'][number]['mirror']>;

/** A pair begun for one request: the pair, and the body stream the primary must read (a tap copying it) when the request has one. */
export interface MirrorStart {
  readonly pair: MirrorPair;
  readonly body: Readable | undefined;
}

/** Where a copy can go: the mirror upstream's next healthy target (the proxy's balancer, unchanged). */
export interface MirrorUpstream {
  readonly name: string;
  readonly pool: { pick(): Target | undefined };
}

/**
 * A service's mirror as the request path sees it, compiled with the snapshot: which
 * requests get a copy and where it goes. Its figures (and in-flight count) live in
 * MirrorStats, outside the snapshot.
 */
export class Mirror {
  private readonly methods: ReadonlySet<string>;
  private readonly percent: number;
  private readonly maxConcurrent: number;
  private readonly settings: PairSettings;

  constructor(
    readonly config: MirrorConfig,
    readonly upstream: MirrorUpstream,
    stats: MirrorStats,
    recorder: TrafficRecorder,
  ) {
    this.methods = new Set(config.methods);
    this.percent = config.percent;
    this.maxConcurrent = config.max_concurrent;
    const ignore = config.compare.ignore_json.map((p) => parseJsonPath(p) as JsonPath);
    this.settings = { compare: { headers: config.compare.headers, ignore }, maxBody: config.max_body, timeoutMs: config.timeout, stats, recorder };
  }

  /**
   * Whether this request gets a copy; if so the pair, sent once the primary request is on
   * its way (with a body, once the tap has the whole of it). A request already going to the
   * mirror's upstream gets none.
   */
  begin(req: IncomingMessage, chosen: string, path: string, headers: readonly string[], hasBody: boolean): MirrorStart | undefined {
    const method = req.method ?? '';
    if (!this.methods.has(method) || chosen === this.upstream.name) return undefined;
    const stats = this.settings.stats;
    // Every request adds `percent`; each full 100 sends one copy: an exact share, no randomness.
    stats.credit += this.percent;
    if (stats.credit < 100) return undefined;
    stats.credit -= 100;
    if (hasBody && Number(req.headers['content-length'] ?? 0) > this.settings.maxBody) {
      stats.count('too_large');
      return undefined;
    }
    if (stats.inflight >= this.maxConcurrent || (stats.restUntil !== 0 && performance.now() < stats.restUntil)) {
      stats.count('dropped');
      return undefined;
    }
    const target = this.upstream.pool.pick();
    const headersOut = [...headers, 'x-switchyard-mirror', '1'];
    const tapped = hasBody && target !== undefined;
    const pair = new MirrorPair(this.settings, { target, method, path, headers: headersOut, url: req.url ?? '/' }, tapped);
    if (!tapped) return { pair, body: undefined };
    const tap = new RequestTap(
      this.settings.maxBody,
      (body) => pair.send(body),
      () => pair.giveUp('too_large'),
    );
    // A client that stops or fails mid-body fails the tap, and through it the primary's upload, as it would have failed `req`.
    pipeline(req, tap, () => {});
    return { pair, body: tap };
  }
}
