/** The writer thread's entry (see writer.ts): runs one job at a time and answers each. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WriterJob, WriterReply } from './writer.js';
import { writeAtomically, writeBack } from './write-back.js';

const env = (workerData as { env: NodeJS.ProcessEnv }).env;

parentPort?.on('message', (job: WriterJob) => {
  let reply: WriterReply;
  try {
    if (job.kind === 'write-back') reply = { id: job.id, ok: true, result: writeBack(job, env) };
    else {
      writeAtomically(job.path, job.text);
      reply = { id: job.id, ok: true };
    }
  } catch (err) {
    reply = { id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
