import { BUCKETS, type Reading, type TrafficSource } from '../core/traffic.js';

/** One upstream's cumulative rollout counts, as an instance reports them over pub/sub. */
export interface ReportedCounts {
  readonly requests: number;
  readonly errors: number;
  readonly buckets: readonly number[];
}

/** How long the leader waits for every live instance's counts before judging with what it has. */
export const REPORT_WAIT_MS = 1000;

/**
 * Every instance's rollout traffic, summed: what the fleet's leader judges with. Instances
 * report cumulative counts when asked; each process (instance id and boot time) keeps its
 * last counts in the sum after it leaves, so totals never go back and a window spanning an
 * instance's death stays right.
 */
export class FleetTraffic implements TrafficSource {
  private readonly byProcess = new Map<string, { seq: number; counts: Map<string, ReportedCounts> }>();
  /** Requests in flight by nonce: who has yet to answer, and who already did. */
  private readonly waiting = new Map<number, { readonly pending: Set<string>; readonly answered: Set<string>; done(): void }>();
  /** Nonces start at a random point, so that answers meant for an earlier leader are not taken for this one's. */
  private nonce = Math.floor(Math.random() * 2 ** 30);

  /**
   * `ask(nonce)` publishes the request and resolves with the ids of the live instances that
   * should answer it.
   */
  constructor(private readonly ask: (nonce: number) => Promise<readonly string[]>) {}

  /** Ask every live instance for its counts and wait for them (at most REPORT_WAIT_MS). */
  readonly refresh = async (): Promise<void> => {
    const nonce = ++this.nonce;
    let done = () => {};
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const w = { pending: new Set<string>(), answered: new Set<string>(), done };
    this.waiting.set(nonce, w);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REPORT_WAIT_MS);
    });
    try {
      const live = await Promise.race([this.ask(nonce).catch(() => []), timeout.then(() => [])]);
      for (const id of live) if (!w.answered.has(id)) w.pending.add(id);
      if (w.pending.size === 0) done();
      await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(nonce);
    }
  };

  /** A process's counts (its `seq`-th report), in answer to request `nonce`; an older report arriving late is ignored. */
  update(id: string, boot: number, seq: number, nonce: number, traffic: Readonly<Record<string, ReportedCounts>>): void {
    const key = `${id}#${boot}`;
    let known = this.byProcess.get(key);
    if (!known) this.byProcess.set(key, (known = { seq: 0, counts: new Map() }));
    if (seq > known.seq) {
      known.seq = seq;
      for (const [upstream, c] of Object.entries(traffic)) known.counts.set(upstream, c);
    }
    const w = this.waiting.get(nonce);
    if (!w) return;
    w.answered.add(id);
    if (w.pending.delete(id) && w.pending.size === 0) w.done();
  }

  read(upstream: string): Reading {
    const buckets = new Uint32Array(BUCKETS);
    let requests = 0;
    let errors = 0;
    for (const { counts } of this.byProcess.values()) {
      const c = counts.get(upstream);
      if (!c) continue;
      requests += c.requests;
      errors += c.errors;
      for (let i = 0; i < BUCKETS; i++) buckets[i] += c.buckets[i] ?? 0;
    }
    return { requests, errors, buckets };
  }
}

/** A report's traffic as sent, checked: what comes from Redis is not trusted. */
export function parseCounts(value: unknown): Record<string, ReportedCounts> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, ReportedCounts> = {};
  for (const [upstream, c] of Object.entries(value as Record<string, unknown>)) {
    const { requests, errors, buckets } = (c ?? {}) as Partial<Record<keyof ReportedCounts, unknown>>;
    if (!count(requests) || !count(errors) || !Array.isArray(buckets) || buckets.length !== BUCKETS || !buckets.every(count)) return undefined;
    out[upstream] = { requests, errors, buckets };
  }
  return out;
}

function count(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
