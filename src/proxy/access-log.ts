import pino from 'pino';

/** One finished proxied request, as the access log writes it. */
export interface AccessEntry {
  readonly request_id: string;
  readonly method: string;
  readonly service: string;
  readonly route: string;
  readonly upstream: string;
  readonly target: string;
  readonly status: number;
  readonly duration_ms: number;
  readonly bytes: number;
  readonly retries: number;
}

/**
 * `log.access: true`: one JSON line per proxied request on stdout, through pino. Each line
 * is one whole write, as the other log lines are: stdout is shared with them (and with every
 * worker), and a pipe keeps writes under 4 KiB whole, so lines never interleave; nothing is
 * held back or lost at a crash, and nothing piles up in memory when the reader is slow (the
 * writer waits instead). Created on first use; off (the default), it costs nothing.
 */
export class AccessLog {
  private logger?: pino.Logger;

  write(entry: AccessEntry): void {
    this.logger ??= pino({ base: { name: 'switchyard', kind: 'access' } }, pino.destination({ dest: 1, sync: true }));
    this.logger.info(entry, 'request');
  }
}
