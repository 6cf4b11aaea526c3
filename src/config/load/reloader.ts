import type { Clock } from '../../clock.js';
import { SwitchyardError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Config } from '../schema/config-schema.js';
import { formatDiagnostic, type ParseResult } from './parse.js';
import { ConfigWatcher } from './watch.js';

/** The outcome of the last reload of the config file, for GET /status and metrics. */
export interface ReloadStatus {
  applied: number;
  rejected: number;
  last?: { readonly result: 'applied' | 'rejected'; readonly at: string; readonly errors?: readonly string[] };
  /** When the running config was last replaced from the file (ms since the epoch). */
  lastAppliedAt?: number;
}

/**
 * What the file's owner says of text read from disk: its parse when it is new, or why there
 * is nothing to do ('same': what we run or wrote; 'stale': read before our last write;
 * 'refused': the text refused last time; 'empty': a file caught mid-write, see ConfigFile.take).
 */
export type Reading = ParseResult | 'same' | 'stale' | 'refused' | 'empty';

/** The owner of the config file (the persistence module): it knows what it wrote, so it says which reads are new. */
export interface ReloadSource {
  /** What a read of the file means: a parse to apply, or why there is nothing to do. */
  take(text: string, readAt: number): Reading;
  /** The text was applied: it is what runs now. */
  adopt(text: string, config: Config): void;
  /** The text parsed but could not be applied. */
  refuse(text: string): void;
}

/**
 * Hot reload: a change to the config file is validated and, if valid, handed to `apply`
 * (the change pipeline); a bad change is rejected with the same errors as `validate`,
 * logged once, counted, and the running config keeps serving.
 */
export class Reloader {
  readonly status: ReloadStatus = { applied: 0, rejected: 0 };
  private readonly watcher: ConfigWatcher;

  constructor(
    private readonly path: string,
    private readonly source: ReloadSource,
    private readonly apply: (config: Config) => void,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.watcher = new ConfigWatcher(
      path,
      clock,
      (text, readAt) => this.reload(text, readAt),
      (err) => log.error({ err: err.message }, 'config watch error'),
    );
  }

  /** Start watching the file. */
  start(): Promise<void> {
    return this.watcher.start();
  }

  /** Read the file once more and wait until every pending read has been handled (tests, shutdown). */
  settled(): Promise<void> {
    return this.watcher.look();
  }

  /** Stop watching. */
  close(): Promise<void> {
    return this.watcher.close();
  }

  private reload(text: string, readAt: number): void {
    const reading = this.source.take(text, readAt);
    const at = new Date(this.clock.now()).toISOString();
    if (reading === 'same') {
      // Put back as it was after a rejected edit: nothing to apply, but no longer a warning.
      if (this.status.last?.result === 'rejected') this.status.last = { result: 'applied', at };
      return;
    }
    if (reading === 'empty') {
      this.log.warn({ file: this.path }, 'the config file is empty: ignored as a write in progress (to remove every service, write "services: []")');
      return;
    }
    if (typeof reading === 'string') return;
    if (!reading.ok) {
      const errors = reading.errors.map(formatDiagnostic);
      this.status.rejected++;
      this.status.last = { result: 'rejected', at, errors };
      this.log.error({ file: this.path, errors }, 'config change rejected; the running config stays');
      return;
    }
    try {
      this.apply(reading.config);
      this.source.adopt(text, reading.config);
    } catch (err) {
      // In a fleet whose Redis is away no change is taken: the edit is read again once it is back, not refused for good.
      const unavailable = err instanceof SwitchyardError && err.code === 'UNAVAILABLE';
      if (!unavailable) this.source.refuse(text);
      // A valid file that cannot be applied (its snapshot would not build) is refused like a bad one.
      const errors = [err instanceof Error ? err.message : String(err)];
      this.status.rejected++;
      this.status.last = { result: 'rejected', at, errors };
      this.log.error({ file: this.path, errors }, 'config change could not be applied; the running config stays');
      return;
    }
    this.status.applied++;
    this.status.last = { result: 'applied', at };
    this.status.lastAppliedAt = this.clock.now();
    this.log.info({ file: this.path }, 'config reloaded');
  }
}
