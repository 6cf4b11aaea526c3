import { fileURLToPath } from 'node:url';
import { PROXY_DEFAULTS } from '../helpers/defaults.js';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfigFile, type ParseResult } from '../../src/config/load/parse.js';
import type { Config } from '../../src/config/schema/config-schema.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function loaded(result: ParseResult): Config {
  if (!result.ok) expect.fail(result.errors.map(formatDiagnostic).join('\n'));
  return result.config;
}

describe('the Kong blue-green example (SPEC section 3)', () => {
  const file = fixture('kong-blue-green.yaml');

  it('loads unchanged, without warnings', async () => {
    const result = await loadConfigFile(file, { SWITCHYARD_ADMIN_TOKEN: 'secret' });
    const config = loaded(result);
    expect(result.warnings).toEqual([]);
    expect(config._format_version).toBe('3.0');
    expect(config.proxy).toEqual(PROXY_DEFAULTS);
    expect(config.admin).toEqual({ listen: '127.0.0.1:8001', token: 'secret' });
    expect(config.services).toEqual([
      {
        name: 'example-service',
        host: 'blue',
        port: 80,
        protocol: 'http',
        path: '/anything',
        retries: 5,
        connect_timeout: 60000,
        read_timeout: 60000,
        write_timeout: 60000,
        routes: [
          {
            name: 'example-route',
            hosts: ['example.domain.com'],
            paths: ['/'],
            methods: ['GET', 'POST'],
            strip_path: true,
            preserve_host: false,
          },
        ],
        failover: true,
        tls_verify: true,
      },
    ]);
    const [blue, green] = config.upstreams;
    expect(blue.targets).toEqual([
      { target: '192.168.34.15:80', weight: 100 },
      { target: '192.168.34.16:80', weight: 50 },
    ]);
    expect(blue.healthchecks.active).toMatchObject({
      type: 'http',
      http_path: '/status',
      healthy: { interval: 5, successes: 2, http_statuses: [200, 302] },
      unhealthy: { interval: 5, http_failures: 3, tcp_failures: 3, timeouts: 3 },
    });
    expect(blue.healthchecks.passive).toMatchObject({
      type: 'http',
      healthy: { successes: 5 },
      unhealthy: { http_failures: 5, tcp_failures: 2, timeouts: 7, http_statuses: [429, 500, 503] },
    });
    expect(green).toMatchObject({ name: 'green', algorithm: 'round-robin', targets: [{ target: '192.168.34.17:80', weight: 100 }] });
    expect(green.healthchecks.active.healthy.interval).toBe(0);
  });

  it('needs SWITCHYARD_ADMIN_TOKEN, and says so at its line', async () => {
    const result = await loadConfigFile(file, {});
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      `${file}:6:10 environment variable SWITCHYARD_ADMIN_TOKEN is not set (write \${SWITCHYARD_ADMIN_TOKEN:-default} to give a default)`,
    ]);
  });
});

describe('a decK dump full of Kong fields', () => {
  it('loads, with one warning per entity listing the fields switchyard ignores', async () => {
    const file = fixture('kong-deck-dump.yaml');
    const result = await loadConfigFile(file, {});
    const config = loaded(result);
    expect(config.services[0]).toMatchObject({ name: 'example-service', host: 'blue', path: '/anything' });
    expect(config.services[0].routes[0]).toMatchObject({ hosts: ['example.domain.com'], methods: ['GET', 'POST'] });
    expect(config.upstreams.map((u) => u.targets)).toEqual([[{ target: '192.168.34.15:80', weight: 100 }], [{ target: '192.168.34.17:80', weight: 100 }]]);
    const text = result.warnings.map((w) => `${w.line}:${w.col} ${w.message.replace(/ \(switchyard uses: .*\)$/, '')}`);
    expect(text).toEqual([
      '15:3 services[0]: ignoring unknown keys "enabled", "id", "tags"',
      '25:5 services[0].routes[0]: ignoring unknown keys "https_redirect_status_code", "id", "path_handling", "protocols", "regex_priority", "request_buffering", "response_buffering", "tags"',
      '52:3 upstreams[0]: ignoring unknown keys "hash_fallback", "hash_on", "hash_on_cookie_path", "id", "slots", "tags", "use_srv_name"',
      '121:5 upstreams[0].targets[0]: ignoring unknown keys "id", "tags"',
      '129:3 upstreams[1]: ignoring unknown key "slots"',
    ]);
  });
});

describe("switchyard's own extensions", () => {
  it('loads a split, overrides, sticky clients, a JSON probe judgement and a url service', async () => {
    const config = loaded(await loadConfigFile(fixture('switchyard-split.yaml'), {}));
    expect(config.proxy.listen).toEqual(['127.0.0.1:0', '[::1]:0']);
    expect(config.admin).toEqual({ listen: '127.0.0.1:0' });
    const [api, legacy] = config.services;
    expect(api.split).toEqual({ blue: 75, green: 25 });
    expect(api.overrides).toEqual([
      { header: 'x-switchyard-upstream', value: 'green', upstream: 'green' },
      { cookie: 'canary', value: '1', upstream: 'green' },
    ]);
    expect(api.sticky).toEqual({ header: 'x-user-id' });
    expect(api.failover).toBe(false);
    expect(api.routes[0]).toMatchObject({ hosts: ['*.example.com', 'api.example.com'], headers: { 'x-env': ['staging'] } });
    expect(legacy).toMatchObject({ protocol: 'https', host: 'legacy.internal', port: 8443, path: '/old' });
    const green = config.upstreams[1];
    expect(green.healthchecks.active).toMatchObject({ http_path: '/hello', expect: { json: { status: 'pass' } }, healthy: { interval: 0.5 } });
    expect(green.targets.map((t) => t.target)).toEqual(['localhost:8000', '[::1]:9102']);
    expect(config.upstreams[0].targets[1]).toEqual({ target: '127.0.0.1:9002', weight: 0 });
  });
});
