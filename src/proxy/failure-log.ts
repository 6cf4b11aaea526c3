import type { Logger } from '../log.js';

/** Lines per error code per second, at most: a failing upstream under load must not flood the log. */
const INTERVAL_MS = 1000;

/**
 * Where the details of proxied failures go (the client only gets a code): logged at `warn`,
 * at most one line per error code per second, each saying how many were left out since.
 */
export class FailureLog {
  private readonly last = new Map<string, { at: number; skipped: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Log one failure, unless its code was logged less than a second ago. */
  report(code: string, detail: string, context: Record<string, string>): void {
    const now = this.now();
    const seen = this.last.get(code);
    if (seen !== undefined && now - seen.at < INTERVAL_MS) {
      seen.skipped++;
      return;
    }
    this.log.warn({ code, ...context, ...(seen?.skipped ? { similar_not_logged: seen.skipped } : {}) }, detail);
    this.last.set(code, { at: now, skipped: 0 });
  }
}
