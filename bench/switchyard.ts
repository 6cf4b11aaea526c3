import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { reservePort } from './free-port.js';
import { probe } from './probe.js';
import { atExit, benchScript, CPU, spawnNode, stopChild } from './processes.js';

/** The service the bench routes through and switches. */
export const SERVICE = 'example-service';

/** A switchyard child process under test. */
export interface RunningSwitchyard {
  proxyUrl: string;
  adminUrl: string;
  /** The switchyard process (taskset execs node in place, so this is node's pid). */
  pid: number | undefined;
  /** The config file it was started with (a scenario may rewrite it to test hot reload). */
  configFile: string;
  /** The same config with the service's host set to `host`. */
  yamlFor(host: string): string;
  /** The primary's pid and each worker's (from GET /status), or the one process's. */
  pids(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Upstream name → its target addresses ("127.0.0.1:PORT"). */
export type UpstreamTargets = Record<string, string[]>;

/** Optional parts of the bench config; left out, switchyard's defaults apply. */
export interface ConfigOptions {
  /** The service's `retries` (switchyard's default is 5). */
  retries?: number;
  /** Upstream name → its `healthchecks` block (Kong's field names, SPEC 5). */
  healthchecks?: Record<string, unknown>;
  /** false: `metrics: { enabled: false }`, to measure what recording costs. */
  metrics?: boolean;
  /** Another build's CLI (a baseline to compare with), instead of cliPath(). */
  cli?: string;
  /** `--workers N` (default: one process). */
  workers?: number;
  /** The CPUs it may run on, as a taskset list (default: the forwarder CPU alone). */
  cpus?: string;
  /** Preload bench/loop-probe.js into every switchyard process, writing to this directory. */
  loopProbeDir?: string;
  /** SWITCHYARD_WORKER_DISTRIBUTION for the run ("cluster" or "reuseport"). */
  distribution?: string;
  /** `log: { access: true }`: one access log line per request (into the log file). */
  accessLog?: boolean;
  /** `proxy.http2: true`: the listener takes h2c beside HTTP/1.1. */
  http2?: boolean;
  /** The service's `protocol` (default http) and route path prefix (default "/"). */
  protocol?: 'http' | 'http2' | 'grpc';
  path?: string;
  /** The service's `mirror`: copies of `percent`% of requests to `upstream`, compared with the answers. */
  mirror?: { upstream: string; percent: number };
  /** A `fleet` block: this instance joins the fleet `name` through the Redis at `redis`. */
  fleet?: { redis: string; name: string; instance: string };
}

const BUILT_CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const READY_TRIES = 100;
const READY_INTERVAL_MS = 100;

/** The bench config: one service on "/" sending everything to `host`. */
export function configYaml(proxyPort: number, adminPort: number, host: string, upstreams: UpstreamTargets, options: ConfigOptions = {}): string {
  const lines = [
    'proxy:',
    `  listen: ["127.0.0.1:${proxyPort}"]`,
    ...(options.http2 ? ['  http2: true'] : []),
    'admin:',
    `  listen: "127.0.0.1:${adminPort}"`,
    ...(options.metrics === false ? ['metrics:', '  enabled: false'] : []),
    ...(options.accessLog ? ['log:', '  access: true'] : []),
    ...(options.fleet ? [`fleet: { redis: "${options.fleet.redis}", name: ${options.fleet.name}, instance: ${options.fleet.instance} }`] : []),
    'services:',
    `  - name: ${SERVICE}`,
    `    host: ${host}`,
    ...(options.retries !== undefined ? [`    retries: ${options.retries}`] : []),
    ...(options.protocol ? [`    protocol: ${options.protocol}`] : []),
    ...(options.mirror ? [`    mirror: { upstream: ${options.mirror.upstream}, percent: ${options.mirror.percent} }`] : []),
    '    routes:',
    '      - name: example-route',
    `        paths: ["${options.path ?? '/'}"]`,
    ...(options.path ? ['        strip_path: false'] : []),
    'upstreams:',
  ];
  for (const [name, targets] of Object.entries(upstreams)) {
    const list = targets.map((t) => `{ target: "${t}" }`).join(', ');
    lines.push(`  - name: ${name}`, `    targets: [${list}]`);
    // JSON is YAML flow syntax, so a block given as an object can be written on one line.
    const hc = options.healthchecks?.[name];
    if (hc !== undefined) lines.push(`    healthchecks: ${JSON.stringify(hc)}`);
  }
  return lines.join('\n') + '\n';
}

/** The CLI to run: BENCH_SWITCHYARD_CLI (e.g. another build), else this tree's dist/src/cli.js. */
export function cliPath(): string {
  return process.env.BENCH_SWITCHYARD_CLI || BUILT_CLI;
}

/** Fail clearly when the CLI has not been built (or written) yet. */
function assertCliBuilt(cli: string): void {
  if (!fs.existsSync(cli)) {
    throw new Error(`switchyard CLI not found at ${cli}: build src/cli.ts first (npm run build)`);
  }
}

/** The last lines of a log file, to explain a failed start. */
function tail(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Poll `GET /status` until it answers 200, the child exits, or the tries run out. */
async function waitReady(adminUrl: string, exited: () => boolean, logFile: string): Promise<void> {
  for (let i = 0; i < READY_TRIES; i++) {
    if (exited()) throw new Error(`switchyard exited during start-up; its log ends:\n${tail(logFile)}`);
    if ((await probe(`${adminUrl}/status`)).status === 200) return;
    await sleep(READY_INTERVAL_MS);
  }
  throw new Error(`switchyard not ready after ${READY_TRIES * READY_INTERVAL_MS} ms; its log ends:\n${tail(logFile)}`);
}

/** Start `switchyard start -c <temp config>` pinned to the forwarder CPU; resolve when ready. */
export async function startSwitchyard(host: string, upstreams: UpstreamTargets, options: ConfigOptions = {}): Promise<RunningSwitchyard> {
  const cli = options.cli ?? cliPath();
  assertCliBuilt(cli);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const removeDir = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const forget = atExit(removeDir);
  const [proxyPort, adminPort] = [await reservePort(), await reservePort()];
  // The config gets a directory of its own, as in /etc/switchyard: the file watcher watches its
  // directory, and the log written beside it would otherwise wake the watcher on every line.
  const configDir = path.join(dir, 'etc');
  fs.mkdirSync(configDir);
  const configFile = path.join(configDir, 'switchyard.yaml');
  const yamlFor = (h: string): string => configYaml(proxyPort, adminPort, h, upstreams, options);
  fs.writeFileSync(configFile, yamlFor(host));
  // Its JSON log goes to a file: a pipe nobody reads would stall it, and the tail explains failures.
  const logFile = path.join(dir, 'switchyard.log');
  const logFd = fs.openSync(logFile, 'w');
  const args = ['start', '-c', configFile, ...(options.workers ? ['--workers', String(options.workers)] : [])];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.loopProbeDir) {
    env.LOOP_PROBE_DIR = options.loopProbeDir;
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(benchScript('loop-probe')).href}`.trim();
  }
  if (options.distribution) env.SWITCHYARD_WORKER_DISTRIBUTION = options.distribution;
  const child = spawnNode(cli, args, { cpu: options.cpus ?? CPU.forwarder, ipc: false, output: logFd, env });
  fs.closeSync(logFd);
  const stop = async (): Promise<void> => {
    await stopChild(child);
    forget();
    removeDir();
  };
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    await waitReady(adminUrl, () => child.exitCode !== null || child.signalCode !== null, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  const pids = async (): Promise<number[]> => {
    const res = await fetch(`${adminUrl}/status`);
    const workers = ((await res.json()) as { details: { workers?: { pid?: number }[] } }).details.workers ?? [];
    return [child.pid ?? 0, ...workers.map((w) => w.pid ?? 0)].filter((p) => p > 0);
  };
  return { proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl, pid: child.pid, configFile, yamlFor, pids, stop };
}
