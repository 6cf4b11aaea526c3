import type { ChildProcess } from 'node:child_process';
import { benchScript, CPU, spawnNode, stopChild, waitForMessage } from './processes.js';
import type { UpstreamTask } from './upstream-process.js';

/** Demo upstreams running in a pinned child process. */
export interface UpstreamGroup {
  /** "127.0.0.1:PORT" per requested colour, in request order. */
  addresses: string[];
  /** The child's process id (node's: taskset execs it in place), for a scenario that kills it. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Start one demo server per colour in a child pinned to the load CPU; `status` other than 200: failing ones. */
export async function startUpstreams(colours: string[], status?: number): Promise<UpstreamGroup> {
  const task: UpstreamTask = { colours, ...(status !== undefined ? { status } : {}) };
  const child: ChildProcess = spawnNode(benchScript('upstream-process'), [JSON.stringify(task)], { cpu: CPU.load });
  try {
    const message = await waitForMessage(child, 'upstream-process', 10_000);
    if (message.type !== 'ready') throw new Error(`upstream-process: expected ready, got ${message.type}`);
    return { addresses: message.addresses, pid: child.pid, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
