import { formatDiagnostic } from './config/parse.js';
import type { ConfigStore } from './config/store.js';
import { ConfigWatcher } from './config/watch.js';
import type { Logger } from './log.js';
import type { RolloutController } from './rollout/controller.js';
import type { Runtime } from './runtime.js';

/** The outcome of the last reload of the config file, for GET /status and metrics. */
export interface ReloadStatus {
  applied: number;
  rejected: number;
  last?: { readonly result: 'applied' | 'rejected'; readonly at: string; readonly errors?: readonly string[] };
  /** When the running config was last replaced from the file (ms since the epoch). */
  lastAppliedAt?: number;
}

/**
 * Hot reload: a change to the config file is validated and, if valid, applied as one
 * snapshot swap; a bad change is rejected with the same errors as `validate`, logged
 * once, counted, and the running config keeps serving. Our own write-backs are ignored.
 */
export class Reloader {
  readonly status: ReloadStatus = { applied: 0, rejected: 0 };
  private readonly watcher: ConfigWatcher;
  private readonly listeners: ((result: 'applied' | 'rejected') => void)[] = [];
  /** The last text refused, so that reading it again is neither logged nor counted twice. */
  private rejectedText?: string;

  constructor(
    private readonly store: ConfigStore,
    private readonly runtime: Runtime,
    private readonly rollouts: RolloutController,
    private readonly log: Logger,
  ) {
    this.watcher = new ConfigWatcher(store.path, (text, readAt) => this.reload(text, readAt), (err) => log.error({ err: err.message }, 'config watch error'));
  }

  /** Start watching the file. */
  start(): Promise<void> {
    return this.watcher.start();
  }

  /**
   * Apply new file text, unless it is what we already run or wrote ourselves. A read that
   * began before our latest write-back may hold the file as it was before it: it is stale,
   * and the watcher's second look reads the file again.
   */
  reload(text: string, readAt = Infinity): void {
    if (readAt <= this.store.lastWriteAt) return;
    if (this.store.isKnown(text)) {
      // Put back as it was after a rejected edit: nothing to apply, but no longer a warning.
      if (this.status.last?.result === 'rejected') this.status.last = { result: 'applied', at: new Date(this.runtime.clock.now()).toISOString() };
      return;
    }
    if (text === this.rejectedText) return;
    const result = this.store.accept(text);
    const at = new Date(this.runtime.clock.now()).toISOString();
    if (!result.ok) {
      this.rejectedText = text;
      const errors = result.errors.map(formatDiagnostic);
      this.status.rejected++;
      this.status.last = { result: 'rejected', at, errors };
      this.log.error({ file: this.store.path, errors }, 'config change rejected; the running config stays');
      this.emit('rejected');
      return;
    }
    this.rejectedText = undefined;
    const snap = this.runtime.apply(result.config);
    this.rollouts.reconcile(result.config);
    this.status.applied++;
    this.status.last = { result: 'applied', at };
    this.status.lastAppliedAt = this.runtime.clock.now();
    this.log.info({ file: this.store.path, generation: snap.generation, hash: snap.hash }, 'config reloaded');
    this.emit('applied');
  }

  /** Hear of every reload (metrics). */
  onReload(fn: (result: 'applied' | 'rejected') => void): void {
    this.listeners.push(fn);
  }

  /** Stop watching. */
  close(): Promise<void> {
    return this.watcher.close();
  }

  private emit(result: 'applied' | 'rejected'): void {
    for (const l of this.listeners) l(result);
  }
}
