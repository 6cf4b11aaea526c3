/** The writer thread's entry (see writer.ts): runs one job at a time and answers each. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WriterJob, WriterReply } from './writer.js';
import { parseConfig } from '../load/parse.js';
import { writeAtomically, writeBack } from './write-back.js';

const env = (workerData as { env: NodeJS.ProcessEnv }).env;
/** Parses of the config at start-up (configs up to WARM_MAX_BYTES), so that V8 compiles the parser before the first change. */
const WARM_PARSES = 40;
const WARM_MAX_BYTES = 64 * 1024;

function warm(path: string, text: string): void {
  if (text.length > WARM_MAX_BYTES) return;
  for (let i = 0; i < WARM_PARSES; i++) parseConfig(text, path, env);
}

parentPort?.on('message', (job: WriterJob) => {
  let reply: WriterReply;
  try {
    if (job.kind === 'write-back') reply = { id: job.id, ok: true, result: writeBack(job, env) };
    else if (job.kind === 'warm') {
      warm(job.path, job.text);
      return;
    } else {
      writeAtomically(job.path, job.text);
      reply = { id: job.id, ok: true };
    }
  } catch (err) {
    reply = { id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
