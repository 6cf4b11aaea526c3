import { WeightedRoundRobin } from './weighted-round-robin.js';

/** A request pinned to one upstream by a header or cookie value, whatever the split. */
export interface Override<U> {
  readonly header?: string;
  readonly cookie?: string;
  readonly value: string;
  readonly upstream: U;
}

/** The request fields a split reads. */
export interface SplitRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * How a service divides its traffic between upstreams: overrides first, then the same
 * smooth weighted round-robin the pools use, so a 25% share holds over every window of
 * sum(weights) requests, not only on average.
 */
export class Split<U> {
  readonly weights: readonly { readonly upstream: U; readonly weight: number }[];
  private readonly wrr: WeightedRoundRobin<U>;
  private readonly overrides: readonly Override<U>[];

  constructor(weights: readonly { upstream: U; weight: number }[], overrides: readonly Override<U>[] = []) {
    this.weights = weights;
    this.wrr = new WeightedRoundRobin(weights.map((w) => w.upstream), weights.map((w) => w.weight));
    this.overrides = overrides.map((o) => ({ ...o, header: o.header?.toLowerCase() }));
  }

  /** The upstream for a request, or undefined if every weight is 0. */
  choose(req: SplitRequest): U | undefined {
    if (this.overrides.length > 0) {
      const pinned = overrideFor(this.overrides, req);
      if (pinned !== undefined) return pinned;
    }
    return this.wrr.pick();
  }
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
