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
 * Writes of at most this many characters, so at most 4,000 bytes (a header value's character is
 * at most 2 bytes in UTF-8): a pipe keeps a write of up to 4,096 bytes whole (PIPE_BUF), so the
 * access lines never interleave with the other log lines or another worker's.
 */
const BATCH_CHARS = 2000;
/** A line waits at most this long for others to share its write. */
const FLUSH_MS = 100;

/**
 * Whole lines gathered into writes of at most BATCH_CHARS characters, written synchronously (pino's
 * SonicBoom waits out a full pipe rather than buffering without bound): one write for many
 * requests, no line split, none held back for more than FLUSH_MS.
 */
class LineBatcher {
  private readonly out = pino.destination({ dest: 1, sync: true });
  private buffer = '';
  private timer?: NodeJS.Timeout;

  write(line: string): void {
    if (this.buffer.length + line.length > BATCH_CHARS) this.flush();
    if (line.length >= BATCH_CHARS) {
      this.out.write(line);
      return;
    }
    this.buffer += line;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    this.out.write(chunk);
  }
}

/**
 * `log.access: true`: one JSON line per proxied request on stdout, through pino. Created on
 * first use; off (the default), it costs nothing.
 */
export class AccessLog {
  private logger?: pino.Logger;
  private batcher?: LineBatcher;

  write(entry: AccessEntry): void {
    if (!this.logger) {
      this.batcher = new LineBatcher();
      this.logger = pino({ base: { name: 'switchyard', kind: 'access' } }, this.batcher);
    }
    this.logger.info(entry, 'request');
  }

  /** Write out the lines waiting for their batch (shutdown). */
  flush(): void {
    this.batcher?.flush();
  }
}
