import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Clock } from '../../clock.js';
import { ConflictError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { type ParseResult, parseConfig } from '../load/parse.js';
import { readConfigText } from '../load/limits.js';
import type { Reading } from '../load/reloader.js';
import type { Config } from '../schema/config-schema.js';
import { applyToConfig, diffOverlay, type Overlay } from './overlay.js';
import type { WriteBackResult } from './write-back.js';
import { FileWriter } from './writer.js';

/** Where admin changes are kept: the config file itself, a state file beside it, or nowhere. */
export type StoreMode = 'file' | 'state-file' | 'memory';

/** The state file: admin changes over a config file whose text had hash `base`. */
interface StateFile {
  base: string;
  overlay: Overlay;
}

/** A hash of file contents, to tell our own writes and unchanged files apart. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The persistence module: the config file, the admin changes made since it was read, and
 * which reads of it are new. Changes are written back into the file atomically, editing
 * only the changed spans (comments and layout stay byte for byte), and every rendering is
 * verified to parse to exactly the intended config. A change that cannot be written that
 * way (YAML anchors, Kong's `url` shorthand, a read-only file) goes to `<file>.state.json`
 * instead, leaving the file untouched. Precedence: the file as it is on disk, then the
 * state file on top of it, but only if the state was made against that same file text —
 * a hand edit made since wins and the stale state is dropped.
 */
export class ConfigFile {
  mode: StoreMode = 'file';
  readonly statePath: string;
  /** The file's text and config as last read or written: the base admin changes are measured from. */
  private text = '';
  private base: Config | undefined;
  /** Text this process is writing right now, so that a read of it is not taken for a hand edit. */
  private writing: string | undefined;
  /** True while the writer thread renders and writes a change into the file (its text is known once it answers). */
  private writingBack = false;
  /** clock.elapsed() when this process last finished writing the file: reads begun before it are stale. */
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  /** The last text refused, so that reading it again is neither logged nor counted twice. */
  private refused: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** True while the state file holds changes the config file does not. */
  private stateInUse = false;
  private pending: Config | undefined;
  /** Renders, verifies and writes on a thread of its own, off the event loop that serves requests. */
  private readonly writer: FileWriter;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly env: NodeJS.ProcessEnv = process.env,
    statePath?: string,
  ) {
    this.statePath = statePath ?? join(dirname(path), `${basename(path)}.state.json`);
    this.writer = new FileWriter(env);
  }

  /** Read the file (and a state file made against it) at start-up. */
  async load(): Promise<ParseResult> {
    let text: string;
    try {
      text = await readConfigText(this.path);
    } catch (err) {
      return { ok: false, errors: [{ file: this.path, line: 1, col: 1, message: err instanceof Error ? err.message : String(err) }], warnings: [] };
    }
    const result = this.accept(text);
    if (!result.ok) return result;
    // A file without write permission (or on a read-only mount) is left as it is.
    if (!(await writable(this.path))) this.mode = 'state-file';
    this.writer.warm(this.path, this.text);
    const state = await this.readState();
    if (state === undefined) return result;
    if (state.base !== textHash(text)) {
      this.log.warn({ state: this.statePath }, 'the config file changed since the state file was written: the file wins, the state is dropped');
      await unlink(this.statePath).catch(() => undefined);
      return result;
    }
    const merged = applyToConfig(result.config, state.overlay);
    if (merged.config === undefined) {
      this.log.error({ state: this.statePath, errors: merged.errors }, 'the state file does not apply to the config file; ignoring it');
      return result;
    }
    this.stateInUse = true;
    this.log.info({ state: this.statePath }, 'applied admin changes kept in the state file');
    return { ok: true, config: merged.config, warnings: result.warnings };
  }

  /** Where admin changes go, for the start-up log and GET /status. */
  describe(): string {
    if (this.mode === 'file') return `written back to ${this.path}${this.stateInUse ? ` (some kept in ${this.statePath})` : ''}`;
    if (this.mode === 'state-file') return `kept in ${this.statePath} (${this.path} is not writable)`;
    return 'kept in memory only (neither the config file nor the state file can be written)';
  }

  /**
   * Text read from disk by the watcher: its parse when it is a change to apply, else why not.
   * A read begun before our latest write may hold the file as it was before it: it is stale,
   * and the watcher's second look reads the file again. Nothing changes here until adopt().
   */
  take(text: string, readAt: number): Reading {
    // While the writer thread writes the file, what it wrote is not known here yet: any other text may be it.
    if (readAt <= this.lastWriteAt || (this.writingBack && text !== this.text)) return 'stale';
    // Only the current text counts: a hand edit back to something written earlier is still an edit.
    if (text === this.text || text === this.writing) {
      this.refused = undefined;
      return 'same';
    }
    if (text === this.refused) return 'refused';
    // An in-place write truncates the file before it writes it: a read in between sees nothing,
    // which would parse as a valid config with no services at all. The watcher looks again.
    if (text.trim() === '') return 'empty';
    const result = parseConfig(text, this.path, this.env);
    if (!result.ok) this.refused = text;
    return result;
  }

  /** A hand edit was applied: it is the new base, and a save queued before it is dropped (the edit wins). */
  adopt(text: string, config: Config): void {
    this.text = text;
    this.base = config;
    this.pending = undefined;
    this.refused = undefined;
  }

  /** Why admin changes cannot be written now: the file on disk holds an edit that was refused. */
  blocked(): string | undefined {
    if (this.mode !== 'file' || this.refused === undefined) return undefined;
    return `${this.path} holds an edit that is not valid (see GET /status, details.last_reload): fix or revert it, then retry; this change was not applied`;
  }

  /** Text that parsed but could not be applied: not tried again until the file changes. */
  refuse(text: string): void {
    this.refused = text;
  }

  /** Keep a running config's admin changes; writes are serialised and coalesced. Resolves once the change is written. */
  save(config: Config): Promise<void> {
    this.pending = config;
    this.queue = this.queue.then(() => this.flush()).catch((err: unknown) => this.log.error({ err: String(err) }, 'could not save admin changes'));
    return this.queue;
  }

  /** Resolves once every save and replace asked for so far has been written. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Replace the file with new text (POST /config), after validating it; `precondition` runs just before the write, in the write queue. */
  async replace(text: string, precondition: () => void = () => undefined): Promise<ParseResult> {
    const result = parseConfig(text, 'request body', this.env);
    if (!result.ok) return result;
    if (this.mode !== 'file') {
      throw new ConflictError(
        `cannot replace the config: ${this.path} is not writable (admin changes are ${this.describe()}); change the file where it is mounted`,
      );
    }
    // In the save queue, so that no earlier save can land after this and bring the old config back.
    const write = this.queue.then(async () => {
      precondition();
      await this.writeFile(text);
      this.text = text;
      this.base = result.config;
      this.refused = undefined;
    });
    this.queue = write.catch(() => undefined);
    await write;
    return result;
  }

  /** Take text as the base admin changes are measured from; returns its parse. */
  private accept(text: string): ParseResult {
    const result = parseConfig(text, this.path, this.env);
    if (result.ok) {
      this.text = text;
      this.base = result.config;
    }
    return result;
  }

  /**
   * Write the pending change into the config file (rendered, verified and written on the
   * writer thread), or where that cannot be done, into the state file. The config file is
   * written before the admin call answers, so that the file an operator opens next holds it.
   */
  private async flush(): Promise<void> {
    const config = this.pending;
    this.pending = undefined;
    if (config === undefined || this.base === undefined || this.mode === 'memory') return;
    const overlay = diffOverlay(this.base, config);
    const outcome = this.mode === 'file' ? await this.writeBack(overlay, config) : 'state';
    // A hand edit won: the state file stays as it is (it may hold the only copy of an earlier change).
    if (outcome === 'edited') return;
    if (outcome === 'written') {
      if (this.stateInUse) await unlink(this.statePath).catch(() => undefined);
      this.stateInUse = false;
      return;
    }
    await this.writeState(overlay);
  }

  /** Write the overlay to the state file (where the config file cannot take it). */
  private async writeState(overlay: Overlay): Promise<void> {
    const state: StateFile = { base: textHash(this.text), overlay };
    try {
      await this.writer.write(this.statePath, `${JSON.stringify(state, null, 2)}\n`);
      this.stateInUse = true;
    } catch (err) {
      this.mode = 'memory';
      this.log.error({ state: this.statePath, err: String(err) }, 'cannot write the state file either: admin changes will not survive a restart');
    }
  }

  /** Write the overlay into the config file: written, left to a hand edit that wins, or for the state file instead. */
  private async writeBack(overlay: Overlay, config: Config): Promise<'written' | 'edited' | 'state'> {
    // A read of the file begun while the thread wrote it is stale (see take()): the watcher looks again.
    this.writingBack = true;
    let r: WriteBackResult;
    try {
      r = await this.writer.writeBack({ path: this.path, base: this.text, overlay, intended: config });
    } finally {
      this.writingBack = false;
      this.lastWriteAt = this.clock.elapsed();
    }
    if (r.outcome === 'edited') {
      // A hand edit not yet picked up by the watcher wins: it was not written over.
      this.log.warn({ file: this.path }, 'the config file was edited by hand while an admin change was being saved: the hand edit wins');
      return 'edited';
    }
    if (r.outcome === 'unrenderable') {
      this.log.warn(
        { file: this.path, state: this.statePath },
        "this change cannot be written into the config file without touching other entries (YAML anchors, merge keys, or Kong's url shorthand): keeping it in the state file",
      );
      return 'state';
    }
    if (r.outcome === 'error') {
      // Not the file's fault (the thread failed): this change stays in the state file, the next one tries again.
      this.log.error(
        { file: this.path, err: r.message, state: this.statePath },
        'could not write an admin change into the config file: it is kept in the state file',
      );
      return 'state';
    }
    if (r.outcome === 'failed') {
      this.mode = 'state-file';
      this.log.warn({ file: this.path, err: r.message, state: this.statePath }, 'cannot write the config file: keeping admin changes in the state file');
      return 'state';
    }
    this.text = r.text;
    this.base = config;
    return 'written';
  }

  private async writeFile(text: string): Promise<void> {
    this.writing = text;
    try {
      await this.writer.write(this.path, text);
    } finally {
      this.writing = undefined;
      this.lastWriteAt = this.clock.elapsed();
    }
  }

  /** Stop the writer thread (after the last save). */
  close(): Promise<void> {
    return this.writer.close();
  }

  /** A state file made earlier; a missing one is normal, an unreadable or corrupt one is logged and ignored. */
  private async readState(): Promise<StateFile | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.error({ state: this.statePath, err: String(err) }, 'cannot read the state file; ignoring it');
      return undefined;
    }
    try {
      const state: unknown = JSON.parse(raw);
      if (isStateFile(state)) return state;
      throw new Error('expected { "base": "…", "overlay": { "services": {…}, "upstreams": {…} } }');
    } catch (err) {
      this.log.error({ state: this.statePath, err: String(err) }, 'the state file is corrupt; ignoring it (the config file alone applies)');
      return undefined;
    }
  }
}

function isStateFile(v: unknown): v is StateFile {
  if (typeof v !== 'object' || v === null) return false;
  // Safe: a non-null object; its fields are read as unknown and checked here.
  const { base, overlay } = v as Record<string, unknown>;
  if (typeof base !== 'string' || typeof overlay !== 'object' || overlay === null) return false;
  const { services, upstreams } = overlay as Record<string, unknown>;
  return typeof services === 'object' && services !== null && typeof upstreams === 'object' && upstreams !== null;
}

/** True unless the file has no write permission bits or sits on a read-only file system. */
async function writable(path: string): Promise<boolean> {
  try {
    const { mode } = await stat(path);
    if ((mode & 0o222) === 0) return false;
    await access(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
