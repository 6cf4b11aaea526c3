import { Pool } from 'undici';

/** What a load run saw. */
export interface LoadResult {
  sent: number;
  statuses: Map<number, number>;
  errors: string[];
  /** Answers per x-upstream header value (or target for echo upstreams). */
  byUpstream: Map<string, number>;
}

/**
 * Drive `concurrency` request loops against `origin` until `stop()` is called, or at most
 * `maxRequests` in all, or `maxMs` — whichever comes first, so a load always ends.
 */
export function startLoad(origin: string, opts: { concurrency?: number; maxRequests?: number; maxMs?: number; path?: string } = {}) {
  const { concurrency = 16, maxRequests = 50_000, maxMs = 20_000, path = '/' } = opts;
  // A request that gets no answer fails after 10 s instead of holding its loop (and the test) for undici's 5 minutes:
  // with node:cluster's distribution, a connection handed to a worker as it is killed is never answered.
  const pool = new Pool(origin, { connections: concurrency, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const result: LoadResult = { sent: 0, statuses: new Map(), errors: [], byUpstream: new Map() };
  const started = Date.now();
  let stopped = false;
  const loop = async () => {
    while (!stopped && result.sent < maxRequests && Date.now() - started < maxMs) {
      result.sent++;
      try {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.dump();
        result.statuses.set(res.statusCode, (result.statuses.get(res.statusCode) ?? 0) + 1);
        const who = String(res.headers['x-upstream'] ?? '');
        result.byUpstream.set(who, (result.byUpstream.get(who) ?? 0) + 1);
      } catch (err) {
        result.errors.push((err as Error).message);
      }
    }
  };
  const loops = Promise.all(Array.from({ length: concurrency }, loop));
  return {
    result,
    /** Resolves once `n` more requests have been sent. */
    async sentAtLeast(n: number): Promise<void> {
      const target = result.sent + n;
      while (result.sent < target && !stopped && Date.now() - started < maxMs) await new Promise((r) => setTimeout(r, 5));
    },
    async stop(): Promise<LoadResult> {
      stopped = true;
      await loops;
      await pool.close();
      return result;
    },
    /** Resolves once the load has run its course (count or time). */
    async done(): Promise<LoadResult> {
      await loops;
      await pool.close();
      return result;
    },
  };
}

/** Requests answered with a status other than 200, plus transport errors. */
export function failures(r: LoadResult): number {
  let n = r.errors.length;
  for (const [status, count] of r.statuses) if (status !== 200) n += count;
  return n;
}
