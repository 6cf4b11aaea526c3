import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';

/** Settles a burst of file events into one reload (editors write several times). */
export const DEBOUNCE_MS = 25;
/**
 * The file is read once more this long after a burst: file-system watchers coalesce or
 * throttle events that come close together (ours right after a write-back of our own),
 * and a second look makes sure the last content is never missed.
 */
export const CONFIRM_MS = 150;

/**
 * Watches a config file and hands each new content over once a burst of writes has
 * settled. It watches the file's directory, not the file, so that editors' rename-over
 * writes and Kubernetes' symlink swaps of a mounted ConfigMap (`..data`) are seen too;
 * every event re-reads the file, and unchanged content is the caller's to ignore.
 */
export class ConfigWatcher {
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setTimeout>;
  private confirm?: ReturnType<typeof setTimeout>;

  constructor(
    readonly path: string,
    /** `readAt`: performance.now() when the read began, so a caller can tell a read older than its own last write. */
    private readonly onText: (text: string, readAt: number) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Start watching; resolves once the watcher is ready. */
  async start(): Promise<void> {
    const file = resolve(this.path);
    const dir = dirname(file);
    const name = basename(file);
    this.watcher = chokidar.watch(dir, {
      depth: 0,
      ignoreInitial: true,
      atomic: false, // every event only prompts a read; no need for chokidar to merge them
      // Our own temp files come and go on every save; they never need a reload.
      ignored: (p: string) => p !== dir && basename(p).startsWith(`.${name}.`),
    });
    this.watcher.on('all', () => this.schedule());
    this.watcher.on('error', (err) => this.onError(err as Error));
    await new Promise<void>((ready) => this.watcher!.once('ready', ready));
  }

  /** Stop watching. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.confirm) clearTimeout(this.confirm);
    await this.watcher?.close();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.read(), DEBOUNCE_MS);
    if (this.confirm) clearTimeout(this.confirm);
    this.confirm = setTimeout(() => void this.read(), CONFIRM_MS);
  }

  private async read(): Promise<void> {
    const readAt = performance.now();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      // Mid-swap the file may be briefly missing; the next event brings it back.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(err as Error);
      return;
    }
    this.onText(text, readAt);
  }
}
