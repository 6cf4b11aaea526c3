import { basename, dirname, resolve } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Clock, Timer } from '../../clock.js';
import { readConfigText } from './limits.js';

/** Settles a burst of file events into one reload (editors write several times). */
export const DEBOUNCE_MS = 25;
/**
 * The file is read once more this long after a burst: file-system watchers coalesce or
 * throttle events that come close together (ours right after a write-back of our own),
 * and a second look makes sure the last content is never missed.
 */
export const CONFIRM_MS = 150;

/** Hands over the file's text; `readAt` is the clock's elapsed() when the read began. */
export type TextListener = (text: string, readAt: number) => void;

/**
 * Watches a config file and hands each new content over once a burst of writes has
 * settled. It watches the file's directory, not the file, so that editors' rename-over
 * writes and Kubernetes' symlink swaps of a mounted ConfigMap (`..data`) are seen too;
 * every event re-reads the file, and unchanged content is the caller's to ignore.
 */
export class ConfigWatcher {
  private watcher?: FSWatcher;
  private timer?: Timer;
  private confirm?: Timer;
  private reading?: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(
    readonly path: string,
    private readonly clock: Clock,
    private readonly onText: TextListener,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Start watching; resolves once the watcher is ready. */
  async start(): Promise<void> {
    const file = resolve(this.path);
    const dir = dirname(file);
    const name = basename(file);
    const watcher = chokidar.watch(dir, {
      depth: 0,
      ignoreInitial: true,
      atomic: false, // every event only prompts a read; no need for chokidar to merge them
      // Our own temp files come and go on every save; they never need a reload.
      ignored: (p: string) => p !== dir && basename(p).startsWith(`.${name}.`),
    });
    this.watcher = watcher;
    watcher.on('all', () => this.schedule());
    watcher.on('error', (err) => this.onError(err instanceof Error ? err : new Error(String(err))));
    await new Promise<void>((ready) => watcher.once('ready', ready));
  }

  /** Read the file now (a look that does not wait for an event), then wait until nothing is pending. */
  async look(): Promise<void> {
    await this.read();
    await this.idle();
  }

  /** Resolves once no event is waiting to be read and no read is in progress. */
  async idle(): Promise<void> {
    while (this.timer !== undefined || this.confirm !== undefined || this.reading !== undefined) {
      await (this.reading ?? new Promise<void>((wake) => this.waiters.push(wake)));
    }
  }

  /** Stop watching. */
  async close(): Promise<void> {
    this.clearTimers();
    await this.watcher?.close();
    this.wake();
  }

  private schedule(): void {
    this.clearTimers();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.read();
    }, DEBOUNCE_MS);
    this.confirm = this.clock.setTimeout(() => {
      this.confirm = undefined;
      void this.read();
    }, CONFIRM_MS);
  }

  private clearTimers(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (this.confirm) this.clock.clearTimeout(this.confirm);
    this.timer = this.confirm = undefined;
  }

  private read(): Promise<void> {
    const done = (this.reading ?? Promise.resolve()).then(() => this.readOnce());
    const mine = done.finally(() => {
      if (this.reading === mine) this.reading = undefined;
      this.wake();
    });
    this.reading = mine;
    return mine;
  }

  private async readOnce(): Promise<void> {
    const readAt = this.clock.elapsed();
    let text: string;
    try {
      text = await readConfigText(this.path);
    } catch (err) {
      // Mid-swap the file may be briefly missing; the next event brings it back.
      const e = err instanceof Error ? err : new Error(String(err));
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(e);
      return;
    }
    try {
      this.onText(text, readAt);
    } catch (err) {
      // A reload that throws must not become an unhandled rejection that stops the proxy.
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
