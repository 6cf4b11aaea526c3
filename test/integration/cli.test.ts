import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
/** The built CLI, as `npx switchyard` runs it (`npm test` builds first). */
const CLI = join(import.meta.dirname, '../../dist/src/cli.js');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

async function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete base.SWITCHYARD_ADMIN_TOKEN; // the tests say when it is set
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('switchyard validate', () => {
  it('accepts the shipped config and the Kong blue-green example', async () => {
    expect(await cli('validate', 'config/switchyard.yaml')).toMatchObject({ code: 0 });
    // The example reads its admin token from the environment; unset, that is an error.
    expect((await cli('validate', 'test/fixtures/kong-blue-green.yaml')).stdout).toMatch(/:6:10 environment variable SWITCHYARD_ADMIN_TOKEN is not set/);
    const kong = await cliWith({ SWITCHYARD_ADMIN_TOKEN: 'secret' }, 'validate', 'test/fixtures/kong-blue-green.yaml');
    expect(kong.code).toBe(0);
    expect(kong.stdout).toMatch(/ok \(1 services, 2 upstreams\)/);
  });

  it('loads a deck dump with its _info, _workspace and _konnect keys: warnings only, exit 0', async () => {
    const deck = await cli('validate', 'test/fixtures/kong-deck-dump.yaml');
    expect(deck.code).toBe(0);
    expect(deck.stderr).toMatch(/ignoring unknown keys .*\(warning\)/);
    expect(deck.stderr).not.toMatch(/_info|_workspace|_konnect|_transform/);
  });

  it('refuses a config too large or nested too deeply before parsing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-'));
    const deep = join(dir, 'deep.yaml');
    await writeFile(deep, `services: ${'['.repeat(200)}${']'.repeat(200)}\n`);
    const nested = await cli('validate', deep);
    expect(nested.code).toBe(1);
    expect(nested.stdout).toMatch(/deep\.yaml:1:\d+ the config is nested too deeply \(more than 64 levels\)/);
    // Quotes and apostrophes do not hide the brackets after them.
    for (const [name, prefix] of [
      ['quoted', 'a: "\\\\"\n'],
      ['apostrophe', "a: it's\n"],
    ]) {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, `${prefix}b: ${'['.repeat(200)}${']'.repeat(200)}\n`);
      expect((await cli('validate', file)).stdout).toMatch(/nested too deeply/);
    }
    const huge = join(dir, 'huge.yaml');
    await writeFile(huge, `# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    const big = await cli('validate', huge);
    expect(big.code).toBe(1);
    expect(big.stdout).toMatch(/huge\.yaml:1:1 the config is larger than 4194304 bytes/);
  });

  it('prints FILE:LINE:COL message for each problem and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'services:\n  - name: s\n    host: nowhere\n    retries: lots\nupstreams:\n  - name: blue\n    targets: [{ target: "a:1", weight: 70000 }]\nbogus: 1\n',
    );
    const { code, stdout } = await cli('validate', file);
    expect(code).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ .+`));
    expect(stdout).toContain(`${file}:4:14`);
    expect(stdout).toMatch(/:7:\d+ .*65535/);
    expect(stdout).toMatch(/:8:1 .*bogus/);
  });

  it('reports an unreadable file and a missing argument', async () => {
    const missing = await cli('validate', '/nonexistent/x.yaml');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^\/nonexistent\/x.yaml:1:1 .*ENOENT|no such file/m);
    expect((await cli('validate')).code).toBe(1);
  });

  it('refuses a --workers that is not a count from 1 to 1024 or auto, before starting anything', async () => {
    for (const bad of ['0', '2.5', 'many', '1025']) {
      const r = await cli('start', '-c', 'config/switchyard.yaml', '--workers', bad);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`--workers takes a number from 1 to 1024 or "auto", got "${bad}"`);
    }
  });

  it('explains itself on --help and refuses unknown commands', async () => {
    expect((await cli('--help')).stdout).toMatch(/switchyard start/);
    const bad = await cli('frobnicate');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
