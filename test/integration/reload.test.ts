import { chmod, mkdtemp, readFile, rename, rm, symlink, writeFile, mkdir, readdir } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { request } from 'undici';
import { App } from '../../src/app.js';
import { closeDemoUpstreams, startDemoUpstream, type DemoUpstream } from '../../src/demo/upstreams.js';
import { failures, startLoad } from '../helpers/load.js';
import { startUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, any>;

const configText = (blue: string, green: string, host = 'blue', extra = '') => `# switchyard config under test
proxy:
  listen: ["127.0.0.1:0"]   # ephemeral
admin:
  listen: "127.0.0.1:0"
services:
  - name: svc
    host: ${host}   # the live colour
    routes: [{ paths: ["/"] }]
${extra}upstreams:
  - name: blue   # cluster X
    targets: [{ target: "${blue}" }]
  - name: green  # cluster Y
    targets: [{ target: "${green}" }]
`;

describe('hot reload and durable state', () => {
  let dir: string;
  let file: string;
  let demos: DemoUpstream[];
  const apps: App[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-reload-'));
    file = join(dir, 'switchyard.yaml');
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await closeDemoUpstreams(demos);
    await rm(dir, { recursive: true, force: true });
  });

  const text = (host = 'blue', extra = '') => configText(demos[0].address, demos[1].address, host, extra);
  /** The file after a switch: the service also says where a rollback goes. */
  const withPrevious = (t: string, previous: string) =>
    t.replace('    routes: [{ paths: ["/"] }]\n', `    routes: [{ paths: ["/"] }]\n    previous_host: ${previous}\n`);
  const start = async (statePath?: string) => {
    const app = await App.start({ configPath: file, statePath });
    apps.push(app);
    return app;
  };
  const stop = async (app: App) => {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
  };
  const colour = async (app: App) => ((await (await request(`http://${app.proxyAddresses[0]}/`)).body.json()) as Json).upstream as string;
  const admin = async (app: App, method: string, path: string, body?: string, type = 'application/json') => {
    const res = await request(`http://${app.adminAddress}${path}`, { method: method as 'GET', body, headers: body ? { 'content-type': type } : {} });
    const raw = await res.body.text();
    return { status: res.statusCode, raw, json: raw.startsWith('{') ? (JSON.parse(raw) as Json) : undefined };
  };
  const generation = async (app: App) => (await admin(app, 'GET', '/status')).json!.details.generation as number;

  it('applies an edit within 200 ms of the write, whether written in place or renamed over', async () => {
    await writeFile(file, text());
    const app = await start();
    expect(await colour(app)).toBe('blue');
    const latencies: number[] = [];
    for (const [i, host] of ['green', 'blue', 'green', 'blue'].entries()) {
      const before = await generation(app);
      if (i % 2 === 0) await writeFile(file, text(host));
      else {
        await writeFile(`${file}.tmp`, text(host));
        await rename(`${file}.tmp`, file);
      }
      const written = Date.now();
      await waitFor(async () => (await generation(app)) === before + 1, 5_000, `edit ${i} to apply`);
      latencies.push(Date.now() - written);
      expect(await colour(app)).toBe(host);
    }
    console.log(`reload latencies (ms, including 10 ms polling): ${latencies.join(', ')}`);
    expect(Math.max(...latencies)).toBeLessThan(1_000); // the 200 ms goal is measured by the bench; this guards against a missing watcher
  });

  it('follows a Kubernetes-style symlink swap of a mounted ConfigMap', async () => {
    const mount = join(dir, 'mount');
    await mkdir(join(mount, '..v1'), { recursive: true });
    await writeFile(join(mount, '..v1', 'switchyard.yaml'), text('blue'));
    await symlink('..v1', join(mount, '..data'));
    await symlink('..data/switchyard.yaml', join(mount, 'switchyard.yaml'));
    file = join(mount, 'switchyard.yaml');
    const app = await start();
    expect(await colour(app)).toBe('blue');
    await mkdir(join(mount, '..v2'));
    await writeFile(join(mount, '..v2', 'switchyard.yaml'), text('green'));
    await symlink('..v2', join(mount, '..data_tmp'));
    await rename(join(mount, '..data_tmp'), join(mount, '..data'));
    await waitFor(async () => (await colour(app)) === 'green', 5_000, 'the swapped config to apply');
  });

  it('applies a burst of writes once', async () => {
    await writeFile(file, text());
    const app = await start();
    const before = await generation(app);
    // Synchronous writes, back to back: a burst within the debounce even on a loaded machine (awaited writes once spread past it in CI).
    for (let i = 0; i < 5; i++) writeFileSync(file, text(i % 2 ? 'blue' : 'green') + `# write ${i}\n`);
    await waitFor(async () => (await colour(app)) === 'green', 5_000, 'the burst to apply');
    await app.settled(); // any stray second apply would show itself here
    expect(await generation(app)).toBe(before + 1);
  });

  it('rejects a broken file under load with zero errors, says so in /status, then applies a valid one', async () => {
    await writeFile(file, text());
    const app = await start();
    const load = startLoad(`http://${app.proxyAddresses[0]}`, { concurrency: 8, maxMs: 15_000, maxRequests: 100_000 });
    await load.sentAtLeast(200);
    const before = await generation(app);
    await writeFile(file, text('green').replace('host: green', 'host: [green'));
    await waitFor(async () => (await admin(app, 'GET', '/status')).json!.status === 'warn', 5_000, 'the rejection');
    const status = (await admin(app, 'GET', '/status')).json!;
    expect(status.details.last_reload.result).toBe('rejected');
    await app.settled(); // the watcher's second look must not count it again
    expect(app.reloader!.status.rejected).toBe(1);
    expect(status.details.last_reload.errors[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ `));
    expect(await generation(app)).toBe(before);
    await load.sentAtLeast(200);
    await writeFile(file, text('green'));
    await waitFor(async () => (await colour(app)) === 'green', 5_000, 'the valid file to apply');
    expect((await admin(app, 'GET', '/status')).json!.status).toBe('pass');
    await load.sentAtLeast(200);
    expect(failures(await load.stop())).toBe(0);
  });

  it('writes a switch back into the file keeping its comments, once, and comes back to it after a restart', async () => {
    await writeFile(file, text());
    const app = await start();
    const before = await generation(app);
    expect((await admin(app, 'PATCH', '/services/svc', 'host=green', 'application/x-www-form-urlencoded')).status).toBe(200);
    await waitFor(async () => (await readFile(file, 'utf8')).includes('host: green'), 5_000, 'the write-back');
    const saved = await readFile(file, 'utf8');
    expect(saved).toContain('# switchyard config under test');
    // Only the value changed, and where a rollback goes was added: comments, their columns and everything else stay byte for byte.
    expect(saved).toBe(withPrevious(text().replace('host: blue   # the live colour', 'host: green  # the live colour'), 'blue'));
    await app.settled(); // our own write must not come back as a reload
    expect(await generation(app)).toBe(before + 1);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // Target changes are written back too.
    expect((await admin(app, 'POST', '/upstreams/green/targets', JSON.stringify({ target: '127.0.0.1:9', weight: 0 }))).status).toBe(201);
    await waitFor(async () => (await readFile(file, 'utf8')).includes('127.0.0.1:9'), 5_000, 'the target write-back');

    await stop(app);
    const again = await start();
    expect(await colour(again)).toBe('green');
    expect(JSON.stringify((await admin(again, 'GET', '/upstreams/green')).json)).toContain('127.0.0.1:9');
  });

  it('resumes a rollout from its step after a restart', async () => {
    await writeFile(file, text());
    const app = await start();
    await admin(app, 'POST', '/services/svc/rollout', JSON.stringify({ to: 'green', steps: [10, 25, 50, 100], interval: '1h' }));
    // Step forward by hand: promote is all-or-nothing, so write a later step into the file as a person could.
    await waitFor(async () => (await readFile(file, 'utf8')).includes('rollout:'), 5_000, 'the rollout to be saved');
    const saved = await readFile(file, 'utf8');
    expect(saved).toMatch(/split: \{blue: 90, green: 10\}/);
    await stop(app);
    await writeFile(file, saved.replace('split: {blue: 90, green: 10}', 'split: {blue: 75, green: 25}').replace(/step: 1\b/, 'step: 2'));
    const again = await start();
    const r = (await admin(again, 'GET', '/services/svc/rollout')).json!;
    expect(r).toMatchObject({ state: 'running', step: 2, split: { blue: 75, green: 25 } });
    const events = (await admin(again, 'GET', '/services/svc/history')).json!.data.map((h: Json) => h.event);
    expect(events).toContain('rollout_resumed');
  });

  it('keeps admin changes in a state file when the config file is read-only; a later hand edit wins', async () => {
    await writeFile(file, text());
    await chmod(file, 0o444);
    const app = await start();
    expect((await admin(app, 'GET', '/status')).json!.details.admin_changes).toMatch(/state\.json/);
    await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
    const statePath = `${file}.state.json`;
    await waitFor(async () => (await readFile(statePath, 'utf8').catch(() => '')).includes('green'), 5_000, 'the state file');
    expect(await readFile(file, 'utf8')).toContain('host: blue');
    await stop(app);

    const again = await start();
    expect(await colour(again)).toBe('green'); // the state file applied over the untouched file
    await stop(again);

    await chmod(file, 0o644);
    await writeFile(file, text('blue') + '# edited by hand\n');
    const third = await start();
    expect(await colour(third)).toBe('blue'); // the file changed since the state was written: the file wins
  });

  it('applies a hand edit even when it restores text switchyard wrote before', async () => {
    await writeFile(file, text());
    const app = await start();
    // `^ +host:` is the service's host, not its previous_host.
    await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
    await waitFor(async () => /^ +host: green/m.test(await readFile(file, 'utf8')), 5_000, 'the first write-back');
    await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'blue' }));
    await waitFor(async () => /^ +host: blue/m.test(await readFile(file, 'utf8')), 5_000, 'the second write-back');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^( +)host: blue/m, '$1host: green'));
    await waitFor(async () => (await colour(app)) === 'green', 5_000, 'the hand edit to apply');
  });

  it('keeps quick successive switches: its own earlier write is never taken for a hand edit', async () => {
    await writeFile(file, text());
    const app = await start();
    for (let round = 0; round < 5; round++) {
      await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
      await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'blue' }));
    }
    await app.settled(); // every write done, and the file read once more after it
    expect(await colour(app)).toBe('blue');
    expect(await readFile(file, 'utf8')).toBe(withPrevious(text(), 'green'));
    expect(app.reloader!.status.applied).toBe(0);
  });

  it('keeps a change it cannot write without touching an anchored value in the state file', async () => {
    const second = '  - name: other\n    host: *live   # follows svc\n    routes: [{ paths: ["/other"] }]\n';
    await writeFile(file, text('blue', second).replace('host: blue   # the live colour', 'host: &live blue   # the live colour'));
    const app = await start();
    await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
    await waitFor(async () => (await readFile(`${file}.state.json`, 'utf8').catch(() => '')).includes('green'), 5_000, 'the state file');
    expect(await readFile(file, 'utf8')).toContain('host: &live blue');
    expect((await admin(app, 'GET', '/status')).json!.details.admin_changes).toMatch(/some kept in .*state\.json/);
    await stop(app);
    expect(await colour(await start())).toBe('green');
  });

  it('refuses POST /config with 409 when the config file is read-only', async () => {
    await writeFile(file, text());
    await chmod(file, 0o444);
    const app = await start();
    const res = await admin(app, 'POST', '/config', text('green'), 'application/yaml');
    expect(res.status).toBe(409);
    expect(res.json!.message).toMatch(/is not writable/);
    expect(await colour(app)).toBe('blue');
  });

  it('applies a hand edit made while the proxy runs, over earlier admin changes', async () => {
    await writeFile(file, text());
    const app = await start();
    await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
    await waitFor(async () => (await readFile(file, 'utf8')).includes('host: green'), 5_000, 'the write-back');
    const edited = (await readFile(file, 'utf8')).replace('host: green', 'host: blue');
    await writeFile(file, edited);
    await waitFor(async () => (await colour(app)) === 'blue', 5_000, 'the hand edit to apply');
    expect(await readFile(file, 'utf8')).toBe(edited);
  });

  it('keeps health state and lets in-flight requests to a removed target finish', async () => {
    let release: () => void = () => undefined;
    const slow = await startUpstream((_req, res) => {
      release = () => res.end('{"upstream":"slow"}');
    });
    try {
      await writeFile(
        file,
        text()
          .replace(`{ target: "${demos[0].address}" }`, `{ target: "${demos[0].address}" }, { target: "${slow.address}", weight: 1 }`)
          .replace('host: blue', 'host: green'),
      );
      const app = await start();
      await admin(app, 'POST', `/upstreams/green/targets/${demos[1].address}/unhealthy`);
      await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'blue' }));
      await waitFor(async () => (await readFile(file, 'utf8')).includes('host: blue'), 5_000, 'the write-back');
      // Send requests until one is held by the slow target.
      const inflight: Promise<{ statusCode: number; body: { text(): Promise<string> } }>[] = [];
      await waitFor(
        () => {
          inflight.push(request(`http://${app.proxyAddresses[0]}/`));
          return slow.hits > 0;
        },
        5_000,
        'a request at the slow target',
      );
      const edited = (await readFile(file, 'utf8'))
        .replace(new RegExp(`,\\s*\\{\\s*target: "${slow.address}", weight: 1\\s*\\}`), '')
        .replace('# switchyard', '# edited: switchyard');
      expect(edited).not.toContain(slow.address);
      await writeFile(file, edited);
      await waitFor(async () => !JSON.stringify((await admin(app, 'GET', '/upstreams/blue')).json).includes(slow.address), 5_000, 'the removal');
      release();
      for (const res of await Promise.all(inflight)) expect(res.statusCode).toBe(200);
      const health = (await admin(app, 'GET', '/upstreams/green/health')).json!.data;
      expect(health[0].health).toBe('UNHEALTHY'); // unchanged target: state kept across the reload
    } finally {
      release();
      await slow.close();
    }
  });

  it('serves the running config at GET /config and replaces it with POST /config', async () => {
    await writeFile(file, text());
    const app = await start();
    const dump = await admin(app, 'GET', '/config');
    expect(dump.raw).toMatch(/services:\n\s+- name: svc/);
    const bad = await admin(app, 'POST', '/config', 'services: [{ name: svc, host: nowhere', 'application/yaml');
    expect(bad.status).toBe(400);
    expect(bad.json!.message).toMatch(/declarative config is invalid: request body:\d+:\d+/);
    expect(await colour(app)).toBe('blue');
    const ok = await admin(app, 'POST', '/config', text('green'), 'application/yaml');
    expect(ok.status).toBe(200);
    expect(await colour(app)).toBe('green');
    expect(await readFile(file, 'utf8')).toBe(text('green'));
  });

  it('refuses an admin change with 409 while the file on disk holds a refused edit, instead of a change it cannot keep', async () => {
    await writeFile(file, text());
    const app = await start();
    await writeFile(file, text('green').replace('host: green', 'host: [green'));
    await waitFor(async () => (await admin(app, 'GET', '/status')).json!.status === 'warn', 5_000, 'the rejection');
    const refused = await admin(app, 'PATCH', '/services/svc', JSON.stringify({ retries: 2 }));
    expect(refused.status).toBe(409);
    expect(refused.json!.message).toMatch(/holds an edit that is not valid .* this change was not applied/);
    // Moving traffic is never held up: the switch applies, and its answer says it was not written.
    const switched = await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
    expect(switched.status).toBe(200);
    expect(switched.json!.warnings).toEqual([expect.stringMatching(/^applied but not written: .*holds an edit that is not valid/)]);
    expect(await colour(app)).toBe('green');
    const back = await admin(app, 'POST', '/services/svc/rollback');
    expect(back.json!.warnings).toHaveLength(1);
    expect(await colour(app)).toBe('blue');
    // A way back is never held up: a running rollout can still be aborted.
    await writeFile(file, text());
    await waitFor(async () => (await admin(app, 'GET', '/status')).json!.status === 'pass', 5_000, 'the fix');
    expect((await admin(app, 'POST', '/services/svc/rollout', JSON.stringify({ to: 'green', interval: '1h' }))).status).toBe(201);
    // The answer came once the change was durable; the config file itself is written just after.
    await app.settled();
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^( +)host: blue/m, '$1host: [blue'));
    await waitFor(async () => (await admin(app, 'GET', '/status')).json!.status === 'warn', 5_000, 'the second rejection');
    expect((await admin(app, 'POST', '/services/svc/rollout/pause')).status).toBe(409);
    expect((await admin(app, 'GET', '/services/svc/rollout')).json!.state).toBe('running');
    expect((await admin(app, 'POST', '/services/svc/rollback')).status).toBe(200);
    expect((await admin(app, 'GET', '/services/svc/rollout')).json!.state).toBe('aborted');
    expect(await colour(app)).toBe('blue');
  });

  it('rolls back after a restart: the host before the last switch is saved with the switch', async () => {
    await writeFile(file, text());
    const app = await start();
    expect((await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }))).status).toBe(200);
    await stop(app);
    const again = await start();
    expect(await colour(again)).toBe('green');
    const back = await admin(again, 'POST', '/services/svc/rollback');
    expect(back.status).toBe(200);
    expect(back.json!.history).toMatchObject({ event: 'rollback', via: 'admin', traffic: { blue: 100 } });
    expect(await colour(again)).toBe('blue');
  });

  it('records every kind of change in the history with where it came from', async () => {
    await writeFile(file, text());
    const app = await start();
    await admin(app, 'PATCH', '/services/svc', JSON.stringify({ host: 'green' }));
    await admin(app, 'POST', '/upstreams/green/targets', 'target=127.0.0.1:9&weight=0', 'application/x-www-form-urlencoded');
    await app.settled();
    await writeFile(file, (await readFile(file, 'utf8')).replace('host: green', 'host: blue'));
    await waitFor(async () => (await colour(app)) === 'blue', 5_000, 'the hand edit to apply');
    const history = (await admin(app, 'GET', '/services/svc/history')).json!.data as Json[];
    expect(history.map((h) => [h.event, h.via])).toEqual([
      ['switch', 'admin'],
      ['targets', 'admin'],
      ['config', 'file'],
    ]);
    expect(history[1].detail).toBe('added 127.0.0.1:9 (weight 0)');
    expect(history[2].by).toBe(file);
  });

  it("keeps a change to a service written with Kong's url shorthand in the state file, leaving the file as written", async () => {
    const second = '  - name: other\n    url: http://blue   # shorthand\n    routes: [{ paths: ["/other"] }]\n';
    const written = text('blue', second);
    await writeFile(file, written);
    const app = await start();
    expect((await admin(app, 'PATCH', '/services/other', JSON.stringify({ retries: 1 }))).status).toBe(200);
    await app.settled();
    expect(await readFile(file, 'utf8')).toBe(written);
    expect(JSON.parse(await readFile(`${file}.state.json`, 'utf8')).overlay.services).toEqual({ other: { retries: 1 } });
    await stop(app);
    expect((await admin(await start(), 'GET', '/services/other')).json!.retries).toBe(1);
  });

  it('logs a corrupt state file and starts from the config file alone', async () => {
    await writeFile(file, text());
    await writeFile(`${file}.state.json`, '{ not json');
    const lines: Json[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    const app = await App.start({ configPath: file, log });
    apps.push(app);
    expect(await colour(app)).toBe('blue');
    expect(lines.find((l) => l.level === 50)).toMatchObject({ msg: expect.stringMatching(/state file is corrupt/), state: `${file}.state.json` });
  });
});
