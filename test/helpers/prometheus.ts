import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

/** A real Prometheus (Debian's package; `.ci/run` installs it) on a free loopback port, scraping `targets` every second. */
export interface TestPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** Start Prometheus scraping `targets` ("host:port", their /metrics) and wait until each has been scraped once. */
export async function startPrometheus(targets: readonly string[]): Promise<TestPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-prometheus-'));
  const port = await freePort();
  const config = `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: switchyard\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`;
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
        const res = await fetch(`${url}/api/v1/query?query=up`).catch(() => undefined);
        if (!res?.ok) return false;
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result.length === targets.length && body.data.result.every((r) => r.value[1] === '1');
      },
      20_000,
      'prometheus to scrape its targets',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
