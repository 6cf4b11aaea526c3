import { closeSync, fsyncSync, openSync, readSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseConfig } from '../load/parse.js';
import { MAX_CONFIG_BYTES } from '../load/limits.js';
import type { Config } from '../schema/config-schema.js';
import { isEmpty, type Overlay } from './overlay.js';
import { patchText } from './text-patch.js';

/**
 * The blocking half of keeping admin changes: rendering, verifying and writing files. It
 * runs in the writer thread (writer.ts), where blocking calls delay no request.
 */

/** Write admin changes into a config file whose text was `base`. */
export interface WriteBackJob {
  readonly path: string;
  readonly base: string;
  readonly overlay: Overlay;
  /** What the written file must parse to. */
  readonly intended: Config;
}

export type WriteBackResult =
  /** The file now holds `text` (unchanged when there was nothing to write). */
  | { readonly outcome: 'written'; readonly text: string }
  /** The file on disk is not `base` any more: a hand edit not yet picked up, which wins. */
  | { readonly outcome: 'edited' }
  /** The change cannot be written by editing spans (YAML anchors, Kong's url shorthand…). */
  | { readonly outcome: 'unrenderable' }
  /** The file could not be written (permissions, a read-only mount, a full disk). */
  | { readonly outcome: 'failed'; readonly message: string }
  /** Something else went wrong (the writer thread failed): worth trying again with the next change. */
  | { readonly outcome: 'error'; readonly message: string };

/** Render the overlay into the file's text, verify it, and write it, unless the file changed on disk since `base`. */
export function writeBack(job: WriteBackJob, env: NodeJS.ProcessEnv): WriteBackResult {
  const onDisk = readSmall(job.path) ?? job.base;
  if (onDisk !== job.base) return { outcome: 'edited' };
  const text = isEmpty(job.overlay) ? job.base : render(job, env);
  if (text === undefined) return { outcome: 'unrenderable' };
  try {
    if (text !== job.base) writeAtomically(job.path, text);
  } catch (err) {
    return { outcome: 'failed', message: String(err) };
  }
  return { outcome: 'written', text };
}

/**
 * The file text with the overlay written in by editing only the changed spans, checked to
 * parse to exactly the intended config; undefined when that cannot be done.
 */
function render(job: WriteBackJob, env: NodeJS.ProcessEnv): string | undefined {
  const patched = patchText(job.base, job.overlay);
  if (patched === undefined) return undefined;
  const r = parseConfig(patched, job.path, env);
  return r.ok && JSON.stringify(r.config) === JSON.stringify(job.intended) ? patched : undefined;
}

/** The file's text, or undefined when it cannot be read (or is larger than a config may be). */
function readSmall(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    return length > MAX_CONFIG_BYTES ? undefined : buffer.toString('utf8', 0, length);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write a file so that readers see the old or the new content, never a part: a temp file
 * in the same directory, fsync, rename over. A symlinked path is written through (the
 * link's target is replaced), as editors do.
 */
export function writeAtomically(path: string, text: string): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // A file that does not exist yet (a new state file) is written where it is named.
  }
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, target);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // Already gone.
    }
    throw err;
  }
  // The rename itself is durable only once the directory is. Some file systems (FUSE, network
  // mounts) refuse to fsync a directory: the file is written all the same.
  try {
    const dir = openSync(dirname(target), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Nothing more can be done for the rename's durability here.
  }
}
