import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ConflictError } from '../errors.js';
import type { Logger } from '../log.js';
import { applyToConfig, applyToDocument, diffOverlay, isEmpty, type Overlay } from './overlay.js';
import { parseConfig, type ParseResult } from './parse.js';
import { patchText } from './text-patch.js';
import type { Config } from './schema.js';

/** Where admin changes are kept: the config file itself, a state file beside it, or nowhere. */
export type StoreMode = 'file' | 'state-file' | 'memory';

/** The state file: admin changes over a config file whose text had hash `base`. */
interface StateFile {
  base: string;
  overlay: Overlay;
}

/** Keep written YAML close to how people write it: `[a, b]`, no folding of long lines. */
const YAML_OUTPUT = { flowCollectionPadding: false, lineWidth: 0 } as const;

/** A hash of file contents, to tell our own writes and unchanged files apart. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The config file and the admin changes made since it was read. Changes are written back
 * into the file atomically (temp file, fsync, rename), keeping its comments and layout;
 * if the file cannot be written, into `<file>.state.json` beside it. Precedence: the file
 * as it is on disk, then the state file on top of it, but only if the state was made
 * against that same file text — a hand edit made since wins and the stale state is dropped.
 */
export class ConfigStore {
  mode: StoreMode = 'file';
  readonly statePath: string;
  /** The file's text and config as last read or written: the base admin changes are measured from. */
  private text = '';
  private base: Config | undefined;
  /** Text this process is writing right now, so the watcher can ignore it. */
  private writing: string | undefined;
  /** performance.now() when this process last finished writing the file. */
  lastWriteAt = -Infinity;
  private queue: Promise<void> = Promise.resolve();
  /** True while the state file holds changes the config file does not. */
  private stateInUse = false;
  private pending: Config | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    statePath?: string,
  ) {
    this.statePath = statePath ?? join(dirname(path), `${basename(path)}.state.json`);
  }

  /** Read the file (and a state file made against it) at start-up. */
  async load(): Promise<ParseResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      return { ok: false, errors: [{ file: this.path, line: 1, col: 1, message: (err as Error).message }], warnings: [] };
    }
    const result = this.accept(text);
    if (!result.ok) return result;
    // A file without write permission (or on a read-only mount) is left as it is.
    if (!(await writable(this.path))) this.mode = 'state-file';
    const state = await this.readState();
    if (state === undefined) return result;
    if (state.base !== textHash(text)) {
      this.log.warn({ state: this.statePath }, 'the config file changed since the state file was written: the file wins, the state is dropped');
      await unlink(this.statePath).catch(() => undefined);
      return result;
    }
    const merged = applyToConfig(result.config, state.overlay);
    if (!merged.ok) {
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

  /** Take new file text (start-up, or a change on disk) as the base; returns its parse. */
  accept(text: string): ParseResult {
    const result = parseConfig(text, this.path, this.env);
    if (result.ok) {
      this.text = text;
      this.base = result.config;
    }
    return result;
  }

  /** True when `text` is what this process last wrote or read, so a watch event can be ignored. */
  isKnown(text: string): boolean {
    // Only the current text counts: a hand edit back to something written earlier is still an edit.
    return text === this.text || text === this.writing;
  }

  /** Keep the running config's admin changes; writes are serialised and coalesced. */
  save(config: Config): Promise<void> {
    this.pending = config;
    this.queue = this.queue.then(() => this.flush()).catch((err: Error) => this.log.error({ err: err.message }, 'could not save admin changes'));
    return this.queue;
  }

  /** Replace the file with new text (POST /config), after validating it. */
  async replace(text: string): Promise<ParseResult> {
    const result = parseConfig(text, 'request body', this.env);
    if (!result.ok) return result;
    if (this.mode !== 'file') {
      throw new ConflictError(`cannot replace the config: ${this.path} is not writable (admin changes are ${this.describe()}); change the file where it is mounted`);
    }
    // In the save queue, so that no earlier save can land after this and bring the old config back.
    const write = this.queue.then(async () => {
      await this.writeFile(text);
      this.text = text;
      this.base = result.config;
    });
    this.queue = write.catch(() => undefined);
    await write;
    return result;
  }

  private async flush(): Promise<void> {
    const config = this.pending;
    this.pending = undefined;
    if (config === undefined || this.base === undefined) return;
    const overlay = diffOverlay(this.base, config);
    if (this.mode === 'file') {
      // A hand edit not yet picked up by the watcher wins: do not write over it.
      const onDisk = await readFile(this.path, 'utf8').catch(() => this.text);
      if (onDisk !== this.text) {
        this.log.warn({ file: this.path }, 'the config file was edited by hand while an admin change was being saved: the hand edit wins');
        return;
      }
      const text = isEmpty(overlay) ? this.text : this.render(this.text, overlay, config);
      if (text !== undefined) {
        try {
          if (text !== this.text) await this.writeFile(text);
          this.text = text;
          this.base = config;
          if (this.stateInUse) await unlink(this.statePath).catch(() => undefined);
          this.stateInUse = false;
          return;
        } catch (err) {
          this.mode = 'state-file';
          this.log.warn({ file: this.path, err: (err as Error).message, state: this.statePath }, 'cannot write the config file: keeping admin changes in the state file');
        }
      } else {
        this.log.warn({ file: this.path, state: this.statePath }, 'this change cannot be written into the config file without touching other entries (YAML anchors or aliases, or a url with ${VAR}): keeping it in the state file');
      }
    }
    if (this.mode === 'memory') return;
    const state: StateFile = { base: textHash(this.text), overlay };
    try {
      await atomicWrite(this.statePath, JSON.stringify(state, null, 2) + '\n');
      this.stateInUse = true;
    } catch (err) {
      this.mode = 'memory';
      this.log.error({ state: this.statePath, err: (err as Error).message }, 'cannot write the state file either: admin changes will not survive a restart');
    }
  }

  private async writeFile(text: string): Promise<void> {
    this.writing = text;
    try {
      await atomicWrite(this.path, text);
    } finally {
      this.writing = undefined;
      this.lastWriteAt = performance.now();
    }
  }

  private async readState(): Promise<StateFile | undefined> {
    try {
      return JSON.parse(await readFile(this.statePath, 'utf8')) as StateFile;
    } catch {
      return undefined;
    }
  }

  /**
   * The file text with an overlay written in, checked to parse to exactly `intended`: first by
   * editing only the changed spans, else by re-rendering the document (comments kept, their
   * alignment not). Undefined when neither gives the intended config.
   */
  private render(text: string, overlay: Overlay, intended: Config): string | undefined {
    const patched = patchText(text, overlay);
    if (patched !== undefined && this.parsesTo(patched, intended)) return patched;
    try {
      const doc = parseDocument(text, { merge: true });
      applyToDocument(doc, overlay);
      const rendered = doc.toString(YAML_OUTPUT);
      return this.parsesTo(rendered, intended) ? rendered : undefined;
    } catch {
      return undefined;
    }
  }

  private parsesTo(text: string, intended: Config): boolean {
    const r = parseConfig(text, this.path, this.env);
    return r.ok && JSON.stringify(r.config) === JSON.stringify(intended);
  }
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

/**
 * Write a file so that readers see the old or the new content, never a part: a temp
 * file in the same directory, fsync, rename over. A symlinked path is written through
 * (the link's target is replaced), as editors do.
 */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const target = await realpath(path).catch(() => path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
