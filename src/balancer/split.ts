import { randomInt } from 'node:crypto';
import { WeightedRoundRobin } from './weighted-round-robin.js';

/** A request pinned to one upstream by a header or cookie value, whatever the split. */
export interface Override<U> {
  readonly header?: string;
  readonly cookie?: string;
  readonly value: string;
  readonly upstream: U;
}

/** What keeps a client on one upstream during a split: a header, a cookie, or its IP. */
export interface Sticky {
  readonly header?: string;
  readonly cookie?: string;
  readonly ip?: boolean;
}

/** The request fields a split reads. */
export interface SplitRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket: { readonly remoteAddress?: string };
}

/** Sticky clients are hashed into this many buckets; a split gives each upstream a range. */
export const BUCKETS = 10_000;

/**
 * How a service divides its traffic between upstreams. Overrides come first; then, with
 * `sticky`, the client's bucket; otherwise the same smooth weighted round-robin the
 * pools use, so a 25% share holds over every window of sum(weights) requests.
 *
 * Buckets are given out in split order, the last upstream taking the top of the range.
 * A rollout lists the new upstream last, so as its share grows its range only extends
 * downwards: clients move old → new, never back.
 */
export class Split<U> {
  readonly weights: readonly { readonly upstream: U; readonly weight: number }[];
  readonly sticky?: Sticky;
  private readonly wrr: WeightedRoundRobin<U>;
  private readonly overrides: readonly Override<U>[];
  /** bucketEnds[i]: the first bucket past upstream i's range. */
  private readonly bucketEnds: Uint16Array;

  constructor(weights: readonly { upstream: U; weight: number }[], overrides: readonly Override<U>[] = [], sticky?: Sticky) {
    this.weights = weights;
    this.wrr = new WeightedRoundRobin(
      weights.map((w) => w.upstream),
      weights.map((w) => w.weight),
    );
    this.overrides = overrides;
    this.sticky = sticky;
    const total = weights.reduce((sum, w) => sum + w.weight, 0);
    let cumulative = 0;
    this.bucketEnds = Uint16Array.from(weights, (w) => {
      cumulative += w.weight;
      return total === 0 ? 0 : Math.round((cumulative * BUCKETS) / total);
    });
  }

  /** The upstream for a request (`issued`: a bucket just given to it), or undefined if every weight is 0. */
  choose(req: SplitRequest, issued?: number): U | undefined {
    if (this.overrides.length > 0) {
      const pinned = overrideFor(this.overrides, req);
      if (pinned !== undefined) return pinned;
    }
    if (this.sticky !== undefined) {
      const bucket = issued ?? stickyBucket(this.sticky, req);
      if (bucket !== undefined) return this.byBucket(bucket);
    }
    return this.wrr.pick();
  }

  /** Percent of traffic per upstream, rounded to 0.01. */
  shares(): { upstream: U; percent: number }[] {
    const total = this.weights.reduce((sum, w) => sum + w.weight, 0);
    return this.weights.map((w) => ({ upstream: w.upstream, percent: total > 0 ? Math.round((10000 * w.weight) / total) / 100 : 0 }));
  }

  /** The upstream whose range holds `bucket`. */
  byBucket(bucket: number): U | undefined {
    for (let i = 0; i < this.bucketEnds.length; i++) if (bucket < this.bucketEnds[i]) return this.weights[i].upstream;
    return undefined;
  }

  /**
   * With `sticky.cookie` and no such cookie on the request: a random bucket to issue in
   * that cookie, so a browser stays on one version without any client change.
   */
  bucketToIssue(req: SplitRequest): number | undefined {
    const name = this.sticky?.cookie;
    if (name === undefined || cookieValue(req.headers.cookie, name) !== undefined) return undefined;
    return randomInt(BUCKETS);
  }
}

/** The sticky bucket of a request, or undefined when it carries no key. */
export function stickyBucket(sticky: Sticky, req: SplitRequest): number | undefined {
  let key: string | undefined;
  if (sticky.header !== undefined) {
    const v = req.headers[sticky.header];
    key = Array.isArray(v) ? v[0] : v;
  } else if (sticky.cookie !== undefined) {
    key = cookieValue(req.headers.cookie, sticky.cookie);
    // A bucket switchyard issued is used as it is.
    if (key !== undefined && /^\d{1,4}$/.test(key)) return Number(key);
  } else if (sticky.ip) {
    key = req.socket.remoteAddress;
  }
  return key === undefined || key === '' ? undefined : fnv1a(key) % BUCKETS;
}

/** FNV-1a, 32 bits: a fast, well-spread string hash (not for security). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The upstream an override pins this request to, if any. */
export function overrideFor<U>(overrides: readonly Override<U>[], req: SplitRequest): U | undefined {
  for (const o of overrides) {
    if (o.header !== undefined) {
      const v = req.headers[o.header];
      if (v === o.value || (Array.isArray(v) && v.includes(o.value))) return o.upstream;
    } else if (o.cookie !== undefined && cookieValue(req.headers.cookie, o.cookie) === o.value) {
      return o.upstream;
    }
  }
  return undefined;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq > start && eq < end && text.slice(start, eq).trim() === name) return text.slice(eq + 1, end).trim();
    start = end + 1;
  }
  return undefined;
}
