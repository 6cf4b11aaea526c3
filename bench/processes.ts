import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildMessage } from './ipc.js';

/**
 * CPU roles on a 2-core machine: the forwarder under test gets CPU 0 to itself, while the
 * load generator and the upstreams share CPU 1, so the forwarder's cost is what we measure.
 */
export const CPU = { forwarder: 0, load: 1 } as const;

/** How a bench child is started. */
export interface SpawnOptions {
  /** CPU (or a taskset list such as "0,1") to pin to with `taskset`, where it exists. */
  cpu?: number | string;
  /** Open an IPC channel (bench children report over it). Default true. */
  ipc?: boolean;
  /** Where stdout and stderr go: inherited by default, or a file descriptor. */
  output?: 'inherit' | number;
  env?: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();
const exitTasks = new Set<() => void>();
let pinnable: boolean | undefined;

/** Whether processes can be pinned here: `taskset` works and there are at least 2 CPUs. */
export function canPin(): boolean {
  if (pinnable === undefined) {
    const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    pinnable = probe.status === 0 && os.availableParallelism() >= 2;
  }
  return pinnable;
}

/** Absolute path of a compiled bench script, e.g. `benchScript('upstream-process')`. */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

/** Spawn `node script …args`, pinned when possible, and tracked so that exit kills it. */
export function spawnNode(script: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const nodeArgv = [script, ...args];
  const pinned = options.cpu !== undefined && canPin();
  const command = pinned ? 'taskset' : process.execPath;
  // taskset execs node in place, so the child's pid is node's and signals reach it directly.
  const argv = pinned ? ['-c', String(options.cpu), process.execPath, ...nodeArgv] : nodeArgv;
  const out = options.output ?? 'inherit';
  const stdio: StdioOptions = ['ignore', out, out];
  if (options.ipc !== false) stdio.push('ipc');
  const child = spawn(command, argv, { stdio, serialization: 'advanced', env: options.env ?? process.env });
  live.add(child);
  child.once('exit', () => live.delete(child));
  // Without a listener a spawn failure (e.g. ENOENT) would throw from the event loop.
  child.on('error', () => live.delete(child));
  return child;
}

/** Resolve with the child's first `ready` or `result` message; reject on error, exit or timeout. */
export function waitForMessage(child: ChildProcess, what: string, timeoutMs: number): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit).off('error', onError);
      fn();
    };
    const onMessage = (m: ChildMessage): void => done(() => (m.type === 'error' ? reject(new Error(`${what}: ${m.message}`)) : resolve(m)));
    const onExit = (code: number | null, signal: string | null): void =>
      done(() => reject(new Error(`${what}: exited (code ${code}, signal ${signal}) before answering`)));
    const onError = (err: Error): void => done(() => reject(new Error(`${what}: ${err.message}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`))), timeoutMs);
    child.on('message', onMessage).once('exit', onExit).once('error', onError);
  });
}

/** Stop a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Run a one-shot task script in a child (pinned to `cpu`) and return its `result`. */
export async function runTask<T>(name: string, task: unknown, cpu: number, timeoutMs: number): Promise<T> {
  const child = spawnNode(benchScript(name), [JSON.stringify(task)], { cpu });
  try {
    const message = await waitForMessage(child, name, timeoutMs);
    if (message.type !== 'result') throw new Error(`${name}: expected a result, got ${message.type}`);
    return message.result as T;
  } finally {
    await stopChild(child);
  }
}

/** Run `task` (synchronous, e.g. removing a temp dir) on exit unless the returned undo is called first. */
export function atExit(task: () => void): () => void {
  exitTasks.add(task);
  return () => exitTasks.delete(task);
}

/** Kill every child still alive and run the exit tasks, synchronously, for exit paths that cannot wait. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
  for (const task of exitTasks) task();
  exitTasks.clear();
}

/** Make sure no child outlives the bench: on exit, on Ctrl-C/SIGTERM and on a crash. */
export function installCleanup(): void {
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  process.once('uncaughtException', (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  });
}

/** Run a load tool (wrk, h2load) pinned to `cpu` when possible; its stdout and stderr together, or why it failed. Killed after `boundMs`. */
export function runPinned(command: string, args: string[], cpu: number, boundMs: number): Promise<string> {
  const pinned = canPin();
  const child = spawn(pinned ? 'taskset' : command, pinned ? ['-c', String(cpu), command, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(bound);
      if (code !== 0) reject(new Error(`${command} exited with ${code}: ${out.slice(-500)}`));
      else resolve(out);
    });
  });
}
