import { benchScript, CPU, spawnNode, stopChild, waitForMessage } from './processes.js';
import type { ReferenceTask } from './reference-undici.js';
import { startSwitchyard } from './switchyard.js';
import { reservePort } from './free-port.js';

/** Something the load generator can be pointed at, in front of one upstream target. */
export interface Forwarder {
  /** Stable key used in the JSON results. */
  id: string;
  /** Human label for the table. */
  label: string;
  /** Start it in front of `upstream` ("host:port"); resolves with its URL and a stop. */
  start(upstream: string): Promise<RunningForwarder>;
}

/** A started forwarder: where to send the load, and its process, whose CPU time is measured. */
export interface RunningForwarder {
  url: string;
  /** The forwarder's process id; undefined when there is no forwarder process (direct). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Start a reference forwarder script as a child pinned to the forwarder CPU. */
async function startReference(script: string, upstream: string, connections?: number): Promise<RunningForwarder> {
  const task: ReferenceTask = { upstream, connections };
  const child = spawnNode(benchScript(script), [JSON.stringify(task)], { cpu: CPU.forwarder });
  try {
    const message = await waitForMessage(child, script, 10_000);
    if (message.type !== 'ready') throw new Error(`${script}: expected ready, got ${message.type}`);
    return { url: `http://${message.addresses[0]}`, pid: child.pid, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/** No forwarder at all: the load goes straight to the upstream (the floor of any overhead). */
export const direct: Forwarder = {
  id: 'direct',
  label: 'direct upstream',
  start: async (upstream) => ({ url: `http://${upstream}`, pid: undefined, stop: async () => {} }),
};

/** The bare undici forwarder: the Node ceiling switchyard is judged against. */
export const bareUndici: Forwarder = {
  id: 'undici',
  label: 'bare undici',
  start: (upstream) => startReference('reference-undici', upstream),
};

/** The bare undici forwarder with a bounded pool, as switchyard's (128 connections per target). */
export const bareUndici128: Forwarder = {
  id: 'undici-128',
  label: 'bare undici, 128 connections',
  start: (upstream) => startReference('reference-undici', upstream, 128),
};

/** node-http-proxy with a keep-alive agent. */
export const nodeHttpProxy: Forwarder = {
  id: 'http-proxy',
  label: 'node-http-proxy',
  start: (upstream) => startReference('reference-http-proxy', upstream),
};

/** switchyard itself, with the upstream as the only target of upstream `blue`. */
export const switchyard: Forwarder = {
  id: 'switchyard',
  label: 'switchyard',
  start: async (upstream) => {
    const running = await startSwitchyard('blue', { blue: [upstream] });
    return { url: running.proxyUrl, pid: running.pid, stop: running.stop };
  },
};

/** switchyard with `metrics.enabled: false`: the difference to `switchyard` is what metrics cost. */
export const switchyardNoMetrics: Forwarder = {
  id: 'switchyard-no-metrics',
  label: 'switchyard, metrics off',
  start: async (upstream) => {
    const running = await startSwitchyard('blue', { blue: [upstream] }, { metrics: false });
    return { url: running.proxyUrl, pid: running.pid, stop: running.stop };
  },
};

/** switchyard with `log.access: true`: the difference to `switchyard` is what the access log costs (its lines go to a file). */
export const switchyardAccessLog: Forwarder = {
  id: 'switchyard-access-log',
  label: 'switchyard, access log on',
  start: async (upstream) => {
    const running = await startSwitchyard('blue', { blue: [upstream] }, { accessLog: true });
    return { url: running.proxyUrl, pid: running.pid, stop: running.stop };
  },
};

/**
 * switchyard copying `percent`% of requests to a mirror upstream and comparing each pair:
 * to the same origin (which then answers the copies too), or to a port where nothing listens.
 */
function switchyardMirror(percent: number, dead: boolean): Forwarder {
  return {
    id: `switchyard-mirror-${percent}${dead ? '-dead' : ''}`,
    label: `switchyard, mirroring ${percent}%${dead ? ' to a dead mirror' : ''}`,
    start: async (upstream) => {
      const green = dead ? `127.0.0.1:${await reservePort()}` : upstream;
      const running = await startSwitchyard('blue', { blue: [upstream], green: [green] }, { mirror: { upstream: 'green', percent } });
      return { url: running.proxyUrl, pid: running.pid, stop: running.stop };
    },
  };
}

/** Mirroring's cost on the hot path: a realistic share, every request, and every request to a dead mirror. */
export const switchyardMirrors: Forwarder[] = [switchyardMirror(10, false), switchyardMirror(100, false), switchyardMirror(100, true)];

/**
 * With BENCH_BASELINE_CLI (the CLI of another build, e.g. the commit before a change): that
 * build as one more row, so a before/after comparison is made side by side in one run.
 */
export function baselineSwitchyard(cli: string | undefined = process.env.BENCH_BASELINE_CLI): Forwarder[] {
  if (!cli) return [];
  return [
    {
      id: 'switchyard-baseline',
      label: 'switchyard, baseline build',
      start: async (upstream) => {
        const running = await startSwitchyard('blue', { blue: [upstream] }, { cli });
        return { url: running.proxyUrl, pid: running.pid, stop: running.stop };
      },
    },
  ];
}
