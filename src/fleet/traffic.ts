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
  private readonly byProcess = new Map<string, Map<string, ReportedCounts>>();
  private nonce = 0;
  private waiting?: { readonly nonce: number; readonly pending: Set<string>; readonly done: () => void };

  /**
   * `ask(nonce)` publishes the request and resolves with the ids of the live instances that
   * should answer it.
   */
  constructor(private readonly ask: (nonce: number) => Promise<readonly string[]>) {}

  /** Ask every live instance for its counts and wait for them (at most REPORT_WAIT_MS). */
  readonly refresh = async (): Promise<void> => {
    const nonce = ++this.nonce;
    let done = () => {};
    const answered = new Promise<void>((resolve) => {
      done = resolve;
    });
    const pending = new Set<string>();
    this.waiting = { nonce, pending, done };
    const live = await this.ask(nonce).catch(() => []);
    for (const id of live) if (!this.answered.has(`${id}#${nonce}`)) pending.add(id);
    if (pending.size === 0) done();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REPORT_WAIT_MS);
    });
    await Promise.race([answered, timeout]);
    clearTimeout(timer);
    if (this.waiting?.nonce === nonce) this.waiting = undefined;
    this.answered.clear();
  };

  /** Answers that came before the list of who should answer did. */
  private readonly answered = new Set<string>();

  /** An instance's counts, in answer to request `nonce`. */
  update(id: string, boot: number, nonce: number, traffic: Readonly<Record<string, ReportedCounts>>): void {
    const key = `${id}#${boot}`;
    let counts = this.byProcess.get(key);
    if (!counts) this.byProcess.set(key, (counts = new Map()));
    for (const [upstream, c] of Object.entries(traffic)) counts.set(upstream, c);
    const w = this.waiting;
    if (!w || w.nonce !== nonce) return;
    this.answered.add(`${id}#${nonce}`);
    if (w.pending.delete(id) && w.pending.size === 0) w.done();
  }

  read(upstream: string): Reading {
    const buckets = new Uint32Array(BUCKETS);
    let requests = 0;
    let errors = 0;
    for (const counts of this.byProcess.values()) {
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
