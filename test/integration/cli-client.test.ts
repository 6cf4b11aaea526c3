import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { closeDemoUpstreams, startDemoUpstream, type DemoUpstream } from '../../src/demo/upstreams.js';
import { deadAddress } from '../helpers/dead-address.js';
import { startLoad } from '../helpers/load.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';
import { startUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, any>;
type Outcome = { code: number; stdout: string; stderr: string };

const run = promisify(execFile);
/** The built CLI, as `npx switchyard` runs it (`npm test` builds first). */
const CLI = join(import.meta.dirname, '../../dist/src/cli.js');

function cliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete base.SWITCHYARD_ADMIN_TOKEN; // the tests say when it is set
  return { ...base, ...env };
}

/** Run the CLI to its end (at most 20 s). */
async function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: cliEnv(env), timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const cli = (...args: string[]) => cliWith({}, ...args);

/** Start the CLI in the background, for commands that follow a rollout while the test acts. */
function spawnCli(...args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv({}), timeout: 20_000 });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<Outcome>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, ...out })));
  return { child, out, exited };
}

describe('switchyard client commands', { timeout: 60_000 }, () => {
  const open: { close(): Promise<void> }[] = [];
  let demos: DemoUpstream[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
    await closeDemoUpstreams(demos.splice(0));
  });

  /** A switchyard with service `svc` on blue, and green (the demo, or `green` if given). */
  const start = async (green?: string, head = '') => {
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    const sy = await startSwitchyard(head + blueGreenYaml({ blue: [demos[0].address], green: [green ?? demos[1].address] }));
    open.push(sy);
    return sy;
  };
  const colour = async (sy: Running) => ((await (await request(`${sy.proxy}/`)).body.json()) as Json).upstream;
  const rollout = async (sy: Running) => (await (await request(`${sy.admin}/services/svc/rollout`)).body.json()) as Json;

  it('status shows the instance, traffic, rollouts and target health, as a table or as JSON', async () => {
    const sy = await start();
    const table = await cli('status', '--admin', sy.admin);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(new RegExp(`^switchyard \\S+ at ${sy.admin}: pass\\nconfig generation 1, hash [0-9a-f]+`));
    expect(table.stdout).toMatch(/^SERVICE +TRAFFIC +ROLLOUT\nsvc +blue +-$/m);
    expect(table.stdout).toMatch(/^UPSTREAM +TARGET +WEIGHT +HEALTH$/m);
    expect(table.stdout).toContain(`green     ${demos[1].address}`);

    await cli('switch', 'svc', 'green', '--steps', '50,100', '--interval', '1h', '--admin', sy.admin);
    const during = await cli('status', '--admin', sy.admin);
    expect(during.stdout).toMatch(/^svc +blue 50% · green 50% +running, step 1\/2 → green$/m);

    const json = await cli('status', '--json', '--admin', sy.admin);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Json;
    expect(report.status).toMatchObject({ status: 'pass', details: { generation: 2 } });
    expect(report.services).toEqual([expect.objectContaining({ name: 'svc', traffic: { blue: 50, green: 50 } })]);
    expect(report.upstreams.map((u: Json) => u.targets[0].target)).toEqual([demos[0].address, demos[1].address]);
    expect(report.rollouts.svc).toMatchObject({ state: 'running', step: 1, to: 'green' });
  });

  it('switches at once, refuses an unknown upstream with the server message, and rolls back', async () => {
    const sy = await start();
    const switched = await cli('switch', 'svc', 'green', '--admin', sy.admin);
    expect(switched).toMatchObject({ code: 0, stdout: 'switched svc to green: traffic green\n' });
    expect(await colour(sy)).toBe('green');

    const unknown = await cli('switch', 'svc', 'purple', '--admin', sy.admin);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^switchyard: schema violation \(host: unknown upstream "purple" \(declared upstreams: blue, green\); to send to a plain host, give its port too\).*\[HTTP 400\]$/m,
    );
    expect(await colour(sy)).toBe('green');

    const back = await cli('rollback', 'svc', '--admin', sy.admin);
    expect(back).toMatchObject({ code: 0, stdout: 'svc rolled back (rollback: traffic blue)\n' });
    expect(await colour(sy)).toBe('blue');
    const json = await cli('switch', 'svc', 'green', '--json', '--admin', sy.admin);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'svc', host: 'green', traffic: { green: 100 } });
  });

  it('follows a rollout with --wait to success, a line per judgement, and exits 0', async () => {
    const sy = await start();
    const r = await cli('switch', 'svc', 'green', '--steps', '10,50,100', '--interval', '200ms', '--min-requests', '0', '--wait', '--admin', sy.admin);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rollout of svc: blue → green, running, step 1\/3: blue 90% · green 10%$/m);
    expect(r.stdout).toMatch(/^\S+ +judged +step 1\/3 +green 10%: pass \(0 requests, 0 errors, error rate 0, p99 -\) — within analysis limits$/m);
    expect(r.stdout).toMatch(/^\S+ +judged +step 2\/3 +green 50%: pass/m);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/succeeded +step 3\/3 +blue 0% · green 100% — reached 100% on green$/);
    expect(await colour(sy)).toBe('green');
  });

  it('--wait exits 1 when the rollout rolls itself back (green answers 500 under traffic)', async () => {
    const failing = await startUpstream((_req, res) => {
      res.writeHead(500, { 'x-upstream': 'green' });
      res.end('{"message":"broken"}');
    });
    open.push(failing);
    const sy = await start(failing.address);
    const load = startLoad(sy.proxy, { concurrency: 4, maxMs: 15_000, maxRequests: 100_000 });
    const r = await cli(
      'switch',
      'svc',
      'green',
      '--steps',
      '20,100',
      '--interval',
      '200ms',
      '--min-requests',
      '5',
      '--failure-threshold',
      '1',
      '--wait',
      '--timeout',
      '15s',
      '--admin',
      sy.admin,
    );
    await load.stop();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /judged +step 1\/2 +green 20%: fail \(\d+ requests, \d+ errors, error rate 1, p99 [\d.]+ ms\) — error rate 1 above max_error_rate 0.01/,
    );
    expect(r.stdout).toMatch(/rolled_back +step 1\/2 +blue 100% · green 0%/);
    expect(r.stderr).toMatch(/^switchyard: the rollout of svc to green ended rolled_back: 1 failed judgement\(s\)/);
    expect((await rollout(sy)).state).toBe('rolled_back');
  });

  it('--wait exits 1 when another CLI call aborts the rollout; pause, resume and promote drive it', async () => {
    const sy = await start();
    const waiting = spawnCli('switch', 'svc', 'green', '--steps', '50,100', '--interval', '1h', '--wait', '--admin', sy.admin);
    await waitFor(() => /running +step 1\/2/.test(waiting.out.stdout), 10_000, 'the first state line');

    const paused = await cli('rollout', 'pause', 'svc', '--admin', sy.admin);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^rollout of svc: blue → green, paused, step 1\/2: blue 50% · green 50%\n(.*\n)* {2}reason: paused by 127\.0\.0\.1$/m);
    await waitFor(() => /paused +step 1\/2 +blue 50% · green 50% — paused by/.test(waiting.out.stdout), 10_000, 'the pause line');
    expect(await cli('rollout', 'pause', 'svc', '--admin', sy.admin)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/cannot pause a rollout that is paused \[HTTP 409\]/),
    });
    expect((await cli('rollout', 'resume', 'svc', '--json', '--admin', sy.admin)).stdout).toMatch(/"state": "running"/);

    const aborted = await cli('rollout', 'abort', 'svc', '--admin', sy.admin);
    expect(aborted.stdout).toMatch(/aborted, step 1\/2: blue 100% · green 0%/);
    const first = await waiting.exited;
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/aborted +step 1\/2 +blue 100% · green 0% — aborted by/);
    expect(first.stderr).toMatch(/the rollout of svc to green ended aborted/);
    expect(await colour(sy)).toBe('blue');

    await cli('switch', 'svc', 'green', '--steps', '50,100', '--interval', '1h', '--admin', sy.admin);
    const promoted = await cli('rollout', 'promote', 'svc', '--admin', sy.admin);
    expect(promoted).toMatchObject({ code: 0, stdout: expect.stringMatching(/succeeded, step 2\/2: blue 0% · green 100%/) });
    expect(await colour(sy)).toBe('green');
    expect((await cli('rollout', 'resume', 'svc', '--admin', sy.admin)).code).toBe(1);
  });

  it('switch during a rollout needs --force; rollout status --wait honours --timeout and Ctrl-C', async () => {
    const sy = await start();
    await cli('switch', 'svc', 'green', '--steps', '50,100', '--interval', '1h', '--admin', sy.admin);
    const refused = await cli('switch', 'svc', 'blue', '--admin', sy.admin);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/abort it, or send "force": true.*--force\) \[HTTP 409\]/) });

    const timedOut = await cli('rollout', 'status', 'svc', '--wait', '--timeout', '300ms', '--admin', sy.admin);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/--timeout 300ms passed; the rollout of svc to green is running at step 1\/2 and goes on/);

    const following = spawnCli('rollout', 'status', 'svc', '--wait', '--admin', sy.admin);
    await waitFor(() => /running +step 1\/2/.test(following.out.stdout), 10_000, 'the state line');
    following.child.kill('SIGINT');
    const stopped = await following.exited;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/stopped following; the rollout of svc to green is running and goes on/);
    expect((await rollout(sy)).state).toBe('running');

    expect((await cli('switch', 'svc', 'blue', '--force', '--admin', sy.admin)).code).toBe(0);
    expect((await rollout(sy)).state).toBe('aborted');
  });

  it('sends the token from --token, $SWITCHYARD_ADMIN_TOKEN or the -c config; 401 without it', async () => {
    const sy = await start(undefined, 'proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\n  token: secret\n');
    const without = await cli('status', '--admin', sy.admin);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^switchyard: Unauthorized.*--token or \$SWITCHYARD_ADMIN_TOKEN\) \[HTTP 401\]$/m);
    expect((await cli('status', '--admin', sy.admin, '--token', 'wrong')).code).toBe(1);
    expect((await cli('status', '--admin', sy.admin, '--token', 'secret')).code).toBe(0);
    expect((await cliWith({ SWITCHYARD_ADMIN_TOKEN: 'secret' }, 'switch', 'svc', 'green', '--admin', sy.admin)).code).toBe(0);
    expect(await colour(sy)).toBe('green');

    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
    const file = join(dir, 'sy.yaml');
    await writeFile(file, `admin:\n  listen: "${sy.admin.replace('http://', '')}"\n  token: \${ADMIN_SECRET:-secret}\n`);
    const fromFile = await cli('status', '-c', file);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain(`at ${sy.admin}: pass`);
  });

  it('names the URL and exits 2 when the admin API cannot be reached, or another server answers', async () => {
    const dead = `http://${await deadAddress()}`;
    const r = await cli('status', '--admin', dead);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `switchyard: cannot reach the admin API at ${dead} (ECONNREFUSED) — is switchyard running? use --admin URL or -c FILE to say where\n`,
    );
    expect((await cli('rollback', 'svc', '--admin', dead)).code).toBe(2);

    const sy = await start();
    const proxy = await cli('switch', 'svc', 'green', '--admin', sy.proxy);
    expect(proxy.code).toBe(2);
    expect(proxy.stderr).toMatch(/the answer to PATCH \/services\/svc is not the admin API's\) — is --admin the admin address/);
  });

  it('explains every command with --help and refuses bad usage with exit 1', async () => {
    // Nothing here reaches an admin API: run the calls side by side to keep the test short.
    const helps = await Promise.all(['status', 'switch', 'rollout', 'rollback'].map(async (command) => [command, await cli(command, '--help')] as const));
    for (const [command, help] of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: switchyard ${command}`));
      expect(help.stdout).toMatch(/Exit codes: 0 done; 1 refused .*; 2 the admin API could\nnot be reached/s);
    }
    const [top, missing, action, option, wait, timeout, url] = await Promise.all([
      cli('--help'),
      cli('switch', 'svc'),
      cli('rollout', 'frobnicate', 'svc'),
      cli('status', '--bogus'),
      cli('switch', 'svc', 'green', '--wait'),
      cli('switch', 'svc', 'green', '--steps', '50,100', '--wait', '--timeout', 'soon'),
      cli('status', '--admin', 'ftp://x'),
    ]);
    expect(top.stdout).toMatch(/switchyard rollout ACTION SERVICE/);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^switchyard switch: missing UPSTREAM\nusage: switchyard switch/) });
    expect(action).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown rollout action "frobnicate"/) });
    expect(option).toMatchObject({ code: 1, stderr: expect.stringMatching(/Unknown option '--bogus'/) });
    expect(wait).toMatchObject({ code: 1, stderr: expect.stringMatching(/--wait applies to a gradual rollout/) });
    expect(timeout).toMatchObject({ code: 1, stderr: expect.stringMatching(/--timeout: expected a duration/) });
    expect(url).toMatchObject({ code: 1, stderr: expect.stringMatching(/expected an http:\/\/ or https:\/\/ URL/) });
  });
});
