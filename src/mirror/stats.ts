/** What became of one mirrored copy: the label of `switchyard_mirror_requests_total{result}`. */
export const MIRROR_RESULTS = [
  'match',
  'mismatch_status',
  'mismatch_header',
  'mismatch_body',
  'mirror_error',
  'mirror_timeout',
  /** Not sent: max_concurrent copies were in flight already, or the mirror is resting after failing FAILING_STREAK times in a row. */
  'dropped',
  /** Not sent: the request body was longer than max_body. */
  'too_large',
  /** Sent, but the client's own request got no whole answer to compare with (it failed, or the client left). */
  'unpaired',
] as const;
export type MirrorResult = (typeof MIRROR_RESULTS)[number];

/** The results that compared a pair; the match rate is `match` over these. */
export const COMPARED: readonly MirrorResult[] = ['match', 'mismatch_status', 'mismatch_header', 'mismatch_body', 'mirror_error', 'mirror_timeout'];

/** One pair that did not match, as `GET /services/NAME/mirror` shows it: no request header, query string or secret is kept. */
export interface MirrorSample {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly result: MirrorResult;
  readonly method: string;
  /** The request path without its query string (which may carry tokens). */
  readonly path: string;
  readonly primary_status: number | null;
  readonly mirror_status: number | null;
  /** Compared headers that differ: [primary, mirror] (deny-listed ones as "[redacted]"). */
  readonly headers?: Readonly<Record<string, readonly [string | null, string | null]>>;
  /** Where the bodies differ, or the mirror's error. */
  readonly diff?: string;
}

/** A service's mirror figures since its comparison began: what a worker sends and the admin API merges. */
export interface MirrorReport {
  /** What was compared (upstream and compare settings): reports of another comparison are not summed with these. */
  readonly identity: string;
  /** When these figures began (epoch ms): the mirror's upstream or compare settings last changed. */
  readonly since: number;
  readonly counts: Readonly<Record<MirrorResult, number>>;
  /** The latest mismatching samples, oldest first. */
  readonly samples: readonly MirrorSample[];
}

/** Samples kept per service (per worker). */
export const MAX_SAMPLES = 20;
/** Mirror errors or timeouts in a row that make copies rest, and for how long (Envoy's outlier detection, for one mirror). */
export const FAILING_STREAK = 5;
export const REST_MS = 1000;

/**
 * One service's mirror figures, kept by service name outside the snapshot so that they
 * outlive reloads; begun afresh when what is compared changes (`identity`).
 */
export class MirrorStats {
  since = Date.now();
  counts = zeroCounts();
  samples: MirrorSample[] = [];
  /** Copies in flight now, bounded by max_concurrent. */
  inflight = 0;
  /** Percent accumulated toward the next copy: every request adds `percent`, each 100 sends one. */
  credit = 0;
  /** Mirror errors and timeouts in a row; at FAILING_STREAK copies rest until `restUntil` (performance.now() ms). */
  private failing = 0;
  restUntil = 0;

  constructor(public identity: string) {}

  /** Count one outcome. */
  count(result: MirrorResult): void {
    this.counts[result]++;
  }

  /**
   * A pair's outcome for the breaker: a mirror that keeps failing (a dead port refusing every
   * connection) gets no copies for REST_MS, so that it costs the proxy nothing meanwhile.
   */
  outcome(failed: boolean, now: number): void {
    if (!failed) this.failing = 0;
    else if (++this.failing >= FAILING_STREAK) {
      this.failing = 0;
      this.restUntil = now + REST_MS;
    }
  }

  /** Keep a mismatch for people to read; the oldest goes when there are MAX_SAMPLES. */
  sample(s: MirrorSample): void {
    if (this.samples.length >= MAX_SAMPLES) this.samples.shift();
    this.samples.push(s);
  }

  report(): MirrorReport {
    return { identity: this.identity, since: this.since, counts: { ...this.counts }, samples: [...this.samples] };
  }
}

/** Every service's mirror figures by name. */
export class MirrorRegistry {
  private readonly byService = new Map<string, MirrorStats>();

  /** The figures of a service's mirror; reset when `identity` (what it compares) differs from last time. */
  get(service: string, identity: string): MirrorStats {
    const s = this.byService.get(service);
    if (s === undefined) {
      const fresh = new MirrorStats(identity);
      this.byService.set(service, fresh);
      return fresh;
    }
    if (s.identity !== identity) {
      s.identity = identity;
      s.since = Date.now();
      s.counts = zeroCounts();
      s.samples = [];
    }
    return s;
  }

  /** Every service's report. */
  reports(): Record<string, MirrorReport> {
    return Object.fromEntries([...this.byService].map(([name, s]) => [name, s.report()]));
  }
}

/** Several processes' reports of one service as one: those of the latest comparison, counts summed, the newest samples kept. */
export function mergeReports(all: readonly MirrorReport[]): MirrorReport | undefined {
  if (all.length === 0) return undefined;
  const latest = all.reduce((a, b) => (b.since > a.since ? b : a)).identity;
  const reports = all.filter((r) => r.identity === latest);
  const counts = zeroCounts();
  for (const r of reports) for (const k of MIRROR_RESULTS) counts[k] += r.counts[k] ?? 0;
  const samples = reports
    .flatMap((r) => r.samples)
    .sort((a, b) => a.at - b.at)
    .slice(-MAX_SAMPLES);
  return { identity: latest, since: Math.min(...reports.map((r) => r.since)), counts, samples };
}

/** Several processes' reports, service by service. */
export function mergeByService(all: readonly Readonly<Record<string, MirrorReport>>[]): Record<string, MirrorReport> {
  const byService = new Map<string, MirrorReport[]>();
  for (const reports of all) for (const [service, r] of Object.entries(reports)) byService.set(service, [...(byService.get(service) ?? []), r]);
  const out: Record<string, MirrorReport> = {};
  for (const [service, reports] of byService) {
    const merged = mergeReports(reports);
    if (merged) out[service] = merged;
  }
  return out;
}

function zeroCounts(): Record<MirrorResult, number> {
  return Object.fromEntries(MIRROR_RESULTS.map((r) => [r, 0])) as Record<MirrorResult, number>;
}

/** The name a service's compared pairs are counted under among upstreams' traffic: it travels to the primary and the fleet's leader the same way. */
export function mirrorTrafficKey(service: string): string {
  // "/" is in no upstream or service name, so this never meets an upstream's own counts.
  return `mirror/${service}`;
}
