import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { formatDiagnostic, parseConfig } from '../../src/config/load/parse.js';
import { blueGreenYaml, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startEchoUpstream } from '../helpers/upstreams.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const read = (f: string) => readFile(join(ROOT, f), 'utf8');
const ENV = { SWITCHYARD_ADMIN_TOKEN: 't0ken', SWITCHYARD_REDIS_URL: 'redis://127.0.0.1:6379/0' };

/** A config text valid as switchyard reads it, or the diagnostics. */
function expectValid(text: string, name: string): void {
  const parsed = parseConfig(text, name, ENV);
  expect(parsed.ok ? [] : parsed.errors.map(formatDiagnostic)).toEqual([]);
}

// What this machine cannot run (no Docker engine, no Kubernetes) is checked for what it says.
describe('deploy files', () => {
  it('Dockerfile: Node 24 slim, production dependencies only, a non-root user, the config path the README gives, a health check', async () => {
    const docker = await read('Dockerfile');
    expect(docker).toMatch(/^FROM node:24-slim AS build$/m);
    expect(docker).toMatch(/^FROM node:24-slim$/m);
    expect(docker).toMatch(/npm ci --omit=dev/);
    expect(docker).toMatch(/^USER node$/m);
    expect(docker).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "dist\/src\/healthcheck\.js"\]$/m);
    expect(docker).toMatch(/"-c", "\/etc\/switchyard\/switchyard\.yaml"/);
    // Everything the dashboard needs is in the image: its page and its compiled script.
    expect(docker).toMatch(/^COPY --from=build \/app\/dist\/ui \.\/dist\/ui$/m);
    expect(docker).toMatch(/^COPY ui \.\/ui$/m);
    expect(docker).toMatch(/tsc -p tsconfig\.ui\.json/);
    for (const m of docker.matchAll(/^COPY (?!--from)(\S+)/gm)) expect(existsSync(join(ROOT, m[1])), m[1]).toBe(true);
    expect(await read('README.md')).toContain('/etc/switchyard/switchyard.yaml');
    expectValid(await read('deploy/docker/switchyard.yaml'), 'deploy/docker/switchyard.yaml');
  });

  it('Kubernetes: the ConfigMap holds a valid config, readiness on /status, the admin port not in the Service', async () => {
    const docs = parseAllDocuments(await read('deploy/kubernetes/switchyard.yaml')).map((d) => d.toJS() as Record<string, any>);
    const kind = (k: string) => docs.find((d) => d.kind === k);
    expectValid(kind('ConfigMap')?.data['switchyard.yaml'], 'ConfigMap switchyard.yaml');
    const pod = kind('Deployment')?.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const container = pod.containers[0];
    expect(container.readinessProbe.exec.command).toEqual(['node', 'dist/src/healthcheck.js']);
    expect(container.livenessProbe.tcpSocket.port).toBe('admin');
    expect(container.args).toContain('/etc/switchyard/switchyard.yaml');
    const service = kind('Service');
    expect(service?.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['proxy']);
    expect(container.ports.find((p: { name: string }) => p.name === 'admin').containerPort).toBe(8001);
  });

  it('systemd: the unit passes systemd-analyze verify', async () => {
    const unit = join(ROOT, 'deploy/systemd/switchyard.service');
    expect(await readFile(unit, 'utf8')).toMatch(/^ExecStart=.* start -c \/etc\/switchyard\/switchyard\.yaml/m);
    const { stdout, stderr } = await run('systemd-analyze', ['verify', unit]);
    expect(`${stdout}${stderr}`).toBe('');
  });

  it('the health check exits 0 while switchyard answers (with its token), and 1 when it does not', async () => {
    const upstream = await startEchoUpstream('blue');
    const sy = await startSwitchyard(
      `proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\n  token: t0ken\n${blueGreenYaml({ blue: [upstream.address] })}`,
    );
    const check = (env: NodeJS.ProcessEnv) =>
      run(process.execPath, [join(ROOT, 'dist/src/healthcheck.js')], { env: { ...process.env, ...env } }).then(
        () => 0,
        (err: { code: number }) => err.code,
      );
    try {
      expect(await check({ SWITCHYARD_ADMIN_URL: sy.admin, SWITCHYARD_ADMIN_TOKEN: 't0ken' })).toBe(0);
      expect(await check({ SWITCHYARD_ADMIN_URL: sy.admin, SWITCHYARD_ADMIN_TOKEN: 'wrong' })).toBe(1);
      // A service without a healthy target (status fail) is no reason to restart switchyard.
      const marked = await fetch(`${sy.admin}/upstreams/blue/targets/${upstream.address}/unhealthy`, {
        method: 'POST',
        headers: { authorization: 'Bearer t0ken' },
      });
      expect(marked.status).toBe(204);
      expect(((await (await fetch(`${sy.admin}/status`, { headers: { authorization: 'Bearer t0ken' } })).json()) as { status: string }).status).toBe('fail');
      expect(await check({ SWITCHYARD_ADMIN_URL: sy.admin, SWITCHYARD_ADMIN_TOKEN: 't0ken' })).toBe(0);
    } finally {
      await sy.close();
      await closeAll([upstream]);
    }
    expect(await check({ SWITCHYARD_ADMIN_URL: sy.admin })).toBe(1);
  });
});
