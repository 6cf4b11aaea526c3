import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoopDelay } from './loop-probe.js';

const READ_TIMEOUT_MS = 2000;

/** Ask each process for its event-loop delay since the last ask (see loop-probe.ts); a process that does not answer is left out. */
export async function readLoopDelays(dir: string, pids: readonly number[]): Promise<LoopDelay[]> {
  await Promise.all(pids.map((pid) => rm(join(dir, `${pid}.json`), { force: true })));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      // Gone: nothing to read.
    }
  }
  const deadline = Date.now() + READ_TIMEOUT_MS;
  const out: LoopDelay[] = [];
  for (const pid of pids) {
    for (;;) {
      const text = await readFile(join(dir, `${pid}.json`), 'utf8').catch(() => undefined);
      if (text) {
        try {
          out.push(JSON.parse(text) as LoopDelay);
          break;
        } catch {
          // Caught mid-write: read again.
        }
      }
      if (Date.now() > deadline) break;
      await sleep(2);
    }
  }
  return out;
}
