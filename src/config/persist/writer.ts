import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WriteBackJob, WriteBackResult } from './write-back.js';

/** A job for the writer thread. */
export type WriterJob =
  | ({ readonly id: number; readonly kind: 'write-back' } & WriteBackJob)
  | { readonly id: number; readonly kind: 'write' | 'warm'; readonly path: string; readonly text: string };
/** Its answer. */
export type WriterReply =
  | { readonly id: number; readonly ok: true; readonly result?: WriteBackResult }
  | { readonly id: number; readonly ok: false; readonly message: string };

/**
 * Writes the config and state files on a thread of its own. Rendering a change into the
 * file, parsing it again to verify it, reading the file to spot a hand edit, and the
 * write, fsync and rename are blocking work or a chain of I/O round trips; here they cost
 * the event loop that serves requests one message each way instead.
 */
export class FileWriter {
  private worker?: Worker;
  private nextId = 1;
  /** Jobs sent and not answered yet, with the thread each went to. */
  private readonly waiting = new Map<number, { worker: Worker; resolve: (r: WriterReply) => void }>();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** Render the overlay into the file at `path` (whose text was `base`), verify it, write it. */
  async writeBack(job: WriteBackJob): Promise<WriteBackResult> {
    const reply = await this.run({ id: this.nextId++, kind: 'write-back', ...job });
    if (!reply.ok) return { outcome: 'error', message: reply.message };
    return reply.result ?? { outcome: 'error', message: 'the writer thread gave no result' };
  }

  /** Write `text` to `path` atomically; throws when it cannot. */
  async write(path: string, text: string): Promise<void> {
    const reply = await this.run({ id: this.nextId++, kind: 'write', path, text });
    if (!reply.ok) throw new Error(reply.message);
  }

  /**
   * Start the thread now, so that the first change does not wait for it to load, and let it
   * parse the config a few times: code run that often is compiled by V8, so a change's
   * verification parse runs at full speed instead of in the interpreter.
   */
  warm(path: string, text: string): void {
    this.start().postMessage({ id: 0, kind: 'warm', path, text } satisfies WriterJob);
  }

  /** Stop the thread (it is started again by the next job). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private run(job: WriterJob): Promise<WriterReply> {
    const worker = this.start();
    return new Promise((resolve) => {
      this.waiting.set(job.id, { worker, resolve });
      // Busy, it keeps the process alive: a shutdown must not cut a write short.
      worker.ref();
      worker.postMessage(job);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(threadEntry(), { workerData: { env: this.env } });
    // Idle, it must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      this.waiting.get(reply.id)?.resolve(reply);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
    });
    // A thread that dies fails what it was doing; the next job starts a new one.
    const fail = (message: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, w] of this.waiting) {
        if (w.worker !== worker) continue;
        this.waiting.delete(id);
        w.resolve({ id, ok: false, message });
      }
    };
    worker.on('error', (err) => fail(`the writer thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`the writer thread exited (${code})`));
    this.worker = worker;
    return worker;
  }
}

/** The thread's compiled entry beside this module; run from the TypeScript sources (tests), the build's. */
function threadEntry(): string {
  const sibling = fileURLToPath(new URL('./writer-thread.js', import.meta.url));
  return existsSync(sibling) ? sibling : fileURLToPath(new URL('../../../dist/src/config/persist/writer-thread.js', import.meta.url));
}
