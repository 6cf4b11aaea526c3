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
 * `log.access: true`: one JSON line per proxied request on stdout, through pino with a
 * buffered, asynchronous destination so that the request path never waits on a write.
 * Created on first use; off (the default), it costs nothing.
 */
export class AccessLog {
  private logger?: pino.Logger;
  private destination?: ReturnType<typeof pino.destination>;

  write(entry: AccessEntry): void {
    if (!this.logger) {
      const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
      this.destination = destination;
      this.logger = pino({ base: { name: 'switchyard', kind: 'access' }, messageKey: 'msg' }, destination);
    }
    this.logger.info(entry, 'request');
  }

  /** Write out what is buffered (shutdown). */
  flush(): void {
    try {
      this.destination?.flushSync();
    } catch {
      // stdout gone (a closed pipe): nothing left to write to.
    }
  }
}
