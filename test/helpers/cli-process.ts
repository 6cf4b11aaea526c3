import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI, as `npx switchyard` runs it (`npm test` builds first). */
export const CLI = join(import.meta.dirname, '../../dist/src/cli.js');

/** `switchyard start` running as its own process (with its workers), on ephemeral loopback ports. */
export interface StartedCli {
  readonly child: ChildProcess;
  /** "http://127.0.0.1:PORT" of the proxy and of the admin API. */
  readonly proxy: string;
  readonly admin: string;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Write `yaml` (with listeners on port 0) to a temporary file and run `switchyard start`
 * on it with `args`; resolves once it logs "switchyard started". Fails with its output
 * if it exits first or takes longer than `ms`.
 */
export async function startCli(yaml: string, args: string[] = [], ms = 20_000): Promise<StartedCli> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
  const file = join(dir, 'switchyard.yaml');
  // A test that needs its own proxy section (proxy.http2) gives the listeners itself.
  await writeFile(file, /^proxy:/m.test(yaml) ? yaml : `proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\n${yaml}`);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.SWITCHYARD_ADMIN_TOKEN;
  const child = spawn(process.execPath, [CLI, 'start', '-c', file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`switchyard did not start within ${ms} ms:\n${stderr}`)), ms);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`switchyard exited with ${code} before it started:\n${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'switchyard started') {
        clearTimeout(timer);
        resolve(entry);
      }
    });
  });
  let line: Record<string, unknown>;
  try {
    line = await started;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const proxies = line.proxy as string[];
  return {
    child,
    proxy: `http://${proxies[0]}`,
    admin: `http://${String(line.admin)}`,
    logs,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Run a CLI command to its end: its exit code and output. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', ...env };
  delete base.SWITCHYARD_ADMIN_TOKEN;
  const child = spawn(process.execPath, [CLI, ...args], { env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}
