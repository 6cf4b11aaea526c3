import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
/** The environment without npm's own variables: under `npm exec --package=node@24` (CI's second run) they would make npx fetch that package. */
const ENV: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_'))), LOG_LEVEL: 'info' };

/**
 * The package as users get it: `npm pack` (of the build `npm test` made), installed from the
 * tarball into an empty folder (dependencies from npm's cache when it has them; no registry
 * needed for switchyard itself), then run with npx.
 */
describe('the npm package, installed from its tarball', () => {
  let app: string;
  const npx = (args: string[]) => run('npx', ['--no-install', 'switchyard', ...args], { cwd: app, env: ENV });

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-pack-'));
    // --ignore-scripts: the build is already there (npm test builds first), and rebuilding it here would race the other tests.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env: ENV });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    app = join(dir, 'app');
    await run('mkdir', [app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'try-switchyard', private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], { cwd: app, env: ENV });
  }, 180_000);

  it('carries the build, the demo config, the schema and the deploy files, and nothing of the tests', async () => {
    const pkg = join(app, 'node_modules/switchyard');
    for (const f of ['dist/src/cli.js', 'config/switchyard.yaml', 'schema/switchyard.schema.json', 'deploy/grafana/switchyard.json', 'README.md'])
      expect(existsSync(join(pkg, f)), f).toBe(true);
    for (const f of ['test', 'bench', 'dist/test', 'dist/bench', 'src']) expect(existsSync(join(pkg, f)), f).toBe(false);
    expect(JSON.parse(await readFile(join(pkg, 'schema/switchyard.schema.json'), 'utf8')).$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('runs: --version, validate, and start --demo with the config it ships', async () => {
    expect((await npx(['--version'])).stdout.trim()).toBe(VERSION);
    expect((await npx(['validate', 'node_modules/switchyard/config/switchyard.yaml'])).stdout).toMatch(/ok \(1 services, 2 upstreams\)/);
    // The bin npx runs, started directly so that the test's SIGTERM reaches switchyard itself.
    const bin = join(app, 'node_modules/.bin/switchyard');
    const child = spawn(bin, ['start', '--demo'], { cwd: app, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('switchyard start --demo did not start within 20 s')), 20_000);
        void exited.then((code) => reject(new Error(`exited with ${code} before it started`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (!line.startsWith('{')) return;
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === 'switchyard started') {
            clearTimeout(timer);
            resolve(entry);
          }
        });
      });
      expect(started.admin_changes).toBe('kept in memory only');
      const res = await fetch('http://127.0.0.1:8000/');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-upstream')).toBe('blue');
      expect(((await (await fetch('http://127.0.0.1:8001/status')).json()) as { status: string }).status).toBe('pass');
      // The dashboard and every file it loads come from the package.
      for (const asset of [
        '/ui',
        '/ui/assets/app.js',
        '/ui/assets/app.css',
        '/ui/assets/preact.mjs',
        '/ui/assets/hooks.mjs',
        '/ui/assets/htm.mjs',
        '/ui/assets/uPlot.esm.js',
        '/ui/assets/uPlot.min.css',
      ])
        expect((await fetch(`http://127.0.0.1:8001${asset}`)).status, asset).toBe(200);
    } finally {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }
    // It drains and exits 0.
    expect(await exited).toBe(0);
  }, 60_000);
});
