import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostic, loadConfigFile, parseConfig } from '../../src/config/load/parse.js';
import type { Config } from '../../src/config/schema/config-schema.js';
import { PROXY_DEFAULTS } from '../helpers/defaults.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The loaded config, failing the test with the errors if it does not load. */
function load(text: string, env: NodeJS.ProcessEnv = {}): Config {
  const result = parseConfig(text, 'c.yaml', env);
  if (!result.ok) expect.fail(result.errors.map(formatDiagnostic).join('\n'));
  return result.config;
}

/** The errors of a config that must not load, as "FILE:LINE:COL message". */
function errors(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = parseConfig(text, 'c.yaml', env);
  if (result.ok) expect.fail('expected the config to be rejected');
  return result.errors.map(formatDiagnostic);
}

/** The warnings of a config that must load. */
function warnings(text: string): string[] {
  const result = parseConfig(text, 'c.yaml', {});
  if (!result.ok) expect.fail(result.errors.map(formatDiagnostic).join('\n'));
  return result.warnings.map(formatDiagnostic);
}

const ACTIVE_DEFAULTS = {
  type: 'http',
  http_path: '/',
  grpc_service: '',
  timeout: 1,
  concurrency: 10,
  headers: {},
  https_verify_certificate: true,
  healthy: { interval: 0, successes: 0, http_statuses: [200, 302] },
  unhealthy: {
    interval: 0,
    http_failures: 0,
    tcp_failures: 0,
    timeouts: 0,
    http_statuses: [429, 404, 500, 501, 502, 503, 504, 505],
  },
};
const PASSIVE_DEFAULTS = {
  type: 'http',
  healthy: {
    successes: 0,
    http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
  },
  unhealthy: { http_failures: 0, tcp_failures: 0, timeouts: 0, http_statuses: [429, 500, 503] },
  cooldown: 30,
};

describe('defaults', () => {
  const empty = {
    proxy: PROXY_DEFAULTS,
    admin: { listen: '127.0.0.1:8001' },
    metrics: { enabled: true },
    log: { level: 'info', access: false },
    notifications: [],
    services: [],
    upstreams: [],
  };

  it.each([
    ['an empty file', ''],
    ['a file of comments', '# nothing here\n\n# yet\n'],
    ['services: []', 'services: []\n'],
    ['empty sections', 'proxy:\nadmin:\nservices:\nupstreams:\n'],
  ])('loads %s as the default config', (_, text) => {
    expect(load(text)).toEqual(empty);
  });

  it('fills every service, route, upstream, target and health-check default (Kong’s)', () => {
    const config = load(
      yaml(
        'services:',
        '  - name: s',
        '    host: blue',
        '    routes:',
        '      - paths: [/]',
        'upstreams:',
        '  - name: blue',
        '    targets:',
        '      - target: 10.0.0.1:80',
      ),
    );
    expect(config.services[0]).toEqual({
      name: 's',
      host: 'blue',
      port: 80,
      protocol: 'http',
      retries: 5,
      connect_timeout: 60000,
      read_timeout: 60000,
      write_timeout: 60000,
      routes: [{ hosts: [], paths: ['/'], methods: [], strip_path: true, preserve_host: false }],
      failover: true,
      tls_verify: true,
    });
    expect(config.upstreams[0]).toEqual({
      name: 'blue',
      algorithm: 'round-robin',
      targets: [{ target: '10.0.0.1:80', weight: 100 }],
      healthchecks: { active: ACTIVE_DEFAULTS, passive: PASSIVE_DEFAULTS, threshold: 0 },
      max_connections: 128,
      keepalive_timeout: 4000,
    });
  });

  it('fills health-check defaults around the fields given', () => {
    const config = load(
      yaml(
        'upstreams:',
        '  - name: u',
        '    healthchecks:',
        '      active: { type: tcp, healthy: { interval: 0.5 } }',
        '      passive: { unhealthy: { http_failures: 3 } }',
      ),
    );
    const { active, passive } = config.upstreams[0].healthchecks;
    expect(active.type).toBe('tcp');
    expect(active.healthy).toEqual({ ...ACTIVE_DEFAULTS.healthy, interval: 0.5 });
    expect(active.unhealthy).toEqual(ACTIVE_DEFAULTS.unhealthy);
    expect(passive.unhealthy).toEqual({ ...PASSIVE_DEFAULTS.unhealthy, http_failures: 3 });
  });

  it('returns a deep-frozen config', () => {
    const config = load(yaml('services:', '  - name: s', '    host: h', '    routes: [{ paths: [/] }]'));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.proxy.listen)).toBe(true);
    expect(Object.isFrozen(config.services[0].routes[0].paths)).toBe(true);
    expect(() => {
      (config.services[0] as { host: string }).host = 'x';
    }).toThrow(TypeError);
  });
});

describe('normalisation', () => {
  it('adds Kong’s default target port 8000 and keeps IPv6 brackets', () => {
    const config = load(
      yaml(
        'upstreams:',
        '  - name: u',
        '    targets:',
        '      - target: backend',
        '      - target: backend:81',
        '      - target: "[::1]"',
        '      - target: "[fe80::1]:9000"',
      ),
    );
    expect(config.upstreams[0].targets.map((t) => t.target)).toEqual(['backend:8000', 'backend:81', '[::1]:8000', '[fe80::1]:9000']);
  });

  it('brackets a bare IPv6 service host so host:port is an address', () => {
    const config = load(yaml('services:', '  - { name: a, host: "::1" }', '  - { name: b, host: "[::1]" }'));
    expect(config.services.map((s) => s.host)).toEqual(['[::1]', '[::1]']);
  });

  it('lower-cases route hosts and header names (Node lower-cases incoming headers)', () => {
    const config = load(
      yaml(
        'services:',
        '  - name: a',
        '    host: h',
        '    routes: [{ hosts: ["*.Example.COM"], headers: { X-Env: [a, b] } }]',
        '    overrides: [{ header: X-Pin, value: v, upstream: u }]',
        '    sticky: { header: X-User }',
        'upstreams: [{ name: u }]',
      ),
    );
    const svc = config.services[0];
    expect(svc.routes[0].hosts).toEqual(['*.example.com']);
    expect(svc.routes[0].headers).toEqual({ 'x-env': ['a', 'b'] });
    expect(svc.overrides).toEqual([{ header: 'x-pin', value: 'v', upstream: 'u' }]);
    expect(svc.sticky).toEqual({ header: 'x-user' });
  });

  it('accepts listen addresses with port 0 and IPv6', () => {
    const config = load(yaml('proxy:', '  listen: ["0.0.0.0:0", "[::]:8000", "localhost:65535"]', 'admin: { listen: "[::1]:0" }'));
    expect(config.proxy.listen).toEqual(['0.0.0.0:0', '[::]:8000', 'localhost:65535']);
    expect(config.admin.listen).toBe('[::1]:0');
  });

  it('keeps proxy.tls', () => {
    expect(load(yaml('proxy:', '  tls: { cert: a.pem, key: a.key }')).proxy.tls).toEqual({ cert: 'a.pem', key: 'a.key' });
  });
});

describe("Kong's url shorthand", () => {
  it.each([
    ['http://blue:8080/api', { protocol: 'http', host: 'blue', port: 8080, path: '/api' }],
    ['https://api.example.com', { protocol: 'https', host: 'api.example.com', port: 443 }],
    ['http://10.0.0.1', { protocol: 'http', host: '10.0.0.1', port: 80 }],
    ['http://[::1]:81/', { protocol: 'http', host: '[::1]', port: 81, path: '/' }],
    ['grpc://orders:50051', { protocol: 'grpc', host: 'orders', port: 50051 }],
    ['grpcs://orders', { protocol: 'grpcs', host: 'orders', port: 443 }],
  ])('%s', (url, fields) => {
    const svc = load(yaml('services:', `  - { name: s, url: "${url}" }`)).services[0];
    expect(svc).toMatchObject(fields);
    expect(svc).not.toHaveProperty('url');
    if (!('path' in fields)) expect(svc).not.toHaveProperty('path');
  });

  it('rejects a url that is not one, and url together with host', () => {
    expect(errors(yaml('services:', '  - name: s', '    url: not a url'))).toEqual([
      'c.yaml:3:10 services[0].url: expected a URL such as "http://host:80/path", got "not a url"',
    ]);
    expect(errors(yaml('services:', '  - name: s', '    url: http://a?x=1'))).toHaveLength(1);
    expect(errors(yaml('services:', '  - name: s', '    host: a', '    url: http://b'))).toEqual([
      'c.yaml:4:5 services[0]: url is a shorthand for protocol, host, port and path; give url or host, not both',
    ]);
    expect(errors(yaml('services:', '  - name: s', '    url: ftp://a:21'))).toEqual([
      'c.yaml:2:5 services[0].protocol: expected one of "http", "https", "http2", "grpc", "grpcs", got "ftp"',
    ]);
  });
});

describe('shape errors point at the offending node', () => {
  it.each<[string, string, string[]]>([
    [
      'unknown top-level key',
      yaml('services: []', 'foo: 1'),
      ['c.yaml:2:1 unknown key "foo" (allowed: proxy, admin, metrics, log, fleet, notifications, services, upstreams, _format_version)'],
    ],
    ['unknown key in our own section', yaml('admin:', '  listen: 127.0.0.1:1', '  tokn: x'), ['c.yaml:3:3 admin: unknown key "tokn" (allowed: listen, token)']],
    [
      'a weight that is not an integer',
      yaml('upstreams:', '  - name: u', '    targets:', '      - target: a:1', '        weight: "abc"'),
      ['c.yaml:5:17 upstreams[0].targets[0].weight: expected an integer from 0 to 65535, got "abc"'],
    ],
    [
      'a missing required key (at the parent mapping)',
      yaml('services:', '  - name: s', '    port: 80'),
      ['c.yaml:2:5 services[0]: missing required key "host"'],
    ],
    [
      'a required key left empty (at its key)',
      yaml('services:', '  - name: s', '    host:'),
      ['c.yaml:3:5 services[0].host: expected an upstream name, a hostname or an IP address, got null'],
    ],
    ['a list where a mapping belongs', yaml('proxy: [a]'), ['c.yaml:1:8 proxy: expected a mapping, got a list']],
    ['a top level that is not a mapping', yaml('- a', '- b'), ['c.yaml:1:1 expected a mapping, got a list']],
    ['an empty listen list', yaml('proxy:', '  listen: []'), ['c.yaml:2:11 proxy.listen: expected a list with at least 1 entry, got an empty list']],
    [
      'a listen address without a port',
      yaml('proxy:', '  listen:', '    - 127.0.0.1:8000', '    - localhost'),
      ['c.yaml:4:7 proxy.listen[1]: expected an address "HOST:PORT" such as "127.0.0.1:8000" or "[::1]:8000", got "localhost"'],
    ],
    ['a listen port out of range', yaml('admin:', '  listen: 127.0.0.1:70000'), ['c.yaml:2:11 admin.listen: expected a port from 0 to 65535, got 70000']],
    [
      'a target with a bad port',
      yaml('upstreams:', '  - name: u', '    targets: [{ target: "a:0" }, { target: "a b" }]'),
      [
        'c.yaml:3:25 upstreams[0].targets[0].target: expected a port from 1 to 65535, got 0',
        'c.yaml:3:44 upstreams[0].targets[1].target: expected a target "HOST:PORT" such as "10.0.0.1:80" or "[::1]:80", got "a b"',
      ],
    ],
    [
      'an unsupported algorithm',
      yaml('upstreams:', '  - name: u', '    algorithm: least-connections'),
      ['c.yaml:3:16 upstreams[0].algorithm: expected "round-robin" (the only algorithm switchyard supports), got "least-connections"'],
    ],
    [
      'an unsupported protocol',
      yaml('services:', '  - { name: s, host: h, protocol: ws }'),
      ['c.yaml:2:35 services[0].protocol: expected one of "http", "https", "http2", "grpc", "grpcs", got "ws"'],
    ],
    [
      'timeouts and retries out of range',
      yaml('services:', '  - name: s', '    host: h', '    retries: -1', '    read_timeout: 0'),
      [
        'c.yaml:4:14 services[0].retries: expected an integer from 0 to 32767, got -1',
        'c.yaml:5:19 services[0].read_timeout: expected an integer from 1 to 2147483646, got 0',
      ],
    ],
    [
      'a service path without a leading slash',
      yaml('services:', '  - { name: s, host: h, path: api }'),
      ['c.yaml:2:31 services[0].path: expected a path starting with "/", got "api"'],
    ],
    [
      'a bad service name',
      yaml('services:', '  - { name: "my service", host: h }'),
      ['c.yaml:2:13 services[0].name: expected a name of letters, digits and . _ ~ -, got "my service"'],
    ],
    [
      'route paths, methods and hosts',
      yaml(
        'services:',
        '  - name: s',
        '    host: h',
        '    routes:',
        '      - paths: [api, "~/regex"]',
        '        methods: [get]',
        '        hosts: ["example.*"]',
      ),
      [
        'c.yaml:5:17 services[0].routes[0].paths[0]: expected a path prefix starting with "/" (regex paths are not supported), got "api"',
        'c.yaml:5:22 services[0].routes[0].paths[1]: expected a path prefix starting with "/" (regex paths are not supported), got "~/regex"',
        'c.yaml:6:19 services[0].routes[0].methods[0]: expected an upper-case HTTP method such as "GET", got "get"',
        'c.yaml:7:17 services[0].routes[0].hosts[0]: expected a hostname such as "api.example.com" or "*.example.com", got "example.*"',
      ],
    ],
    [
      'a route that matches nothing in particular (Kong’s rule)',
      yaml('services:', '  - name: s', '    host: h', '    routes:', '      - name: r', '        strip_path: false'),
      ['c.yaml:5:9 services[0].routes[0]: a route needs at least one of hosts, paths, methods or headers'],
    ],
    [
      'a route whose only matchers are empty',
      yaml('services:', '  - name: s', '    host: h', '    routes: [{ headers: {}, hosts: [] }]'),
      ['c.yaml:4:14 services[0].routes[0]: a route needs at least one of hosts, paths, methods or headers'],
    ],
    [
      'route headers that are not lists',
      yaml('services:', '  - name: s', '    host: h', '    routes:', '      - headers: { x-env: staging }'),
      ['c.yaml:5:27 services[0].routes[0].headers.x-env: expected a list, got "staging"'],
    ],
    [
      'a split with no positive weight, and a bad weight',
      yaml('services:', '  - name: s', '    host: h', '    split: { a: 0, b: 0 }', '  - name: t', '    host: h', '    split: { a: 1.5 }'),
      [
        'c.yaml:4:12 services[0].split: expected at least one upstream with a weight above 0',
        'c.yaml:7:17 services[1].split.a: expected an integer from 0 to 65535, got 1.5',
      ],
    ],
    [
      'an override with both header and cookie, and one with neither',
      yaml(
        'services:',
        '  - name: s',
        '    host: h',
        '    overrides:',
        '      - { header: x, cookie: y, value: v, upstream: u }',
        '      - { value: v, upstream: u }',
      ),
      [
        'c.yaml:5:9 services[0].overrides[0]: expected exactly one of header, cookie, got header and cookie',
        'c.yaml:6:9 services[0].overrides[1]: expected exactly one of header, cookie, got none',
      ],
    ],
    [
      'sticky with two keys',
      yaml('services:', '  - name: s', '    host: h', '    sticky: { cookie: c, ip: true }'),
      ['c.yaml:4:13 services[0].sticky: expected exactly one of header, cookie, ip, got cookie and ip'],
    ],
    [
      'health-check fields out of range',
      yaml(
        'upstreams:',
        '  - name: u',
        '    healthchecks:',
        '      active:',
        '        type: udp',
        '        concurrency: 0',
        '        healthy: { successes: 256, http_statuses: [200, 99] }',
        '        expect: { json: { status: [pass] } }',
        '      threshold: 101',
      ),
      [
        'c.yaml:5:15 upstreams[0].healthchecks.active.type: expected one of "http", "https", "tcp", "grpc", "grpcs", got "udp"',
        'c.yaml:6:22 upstreams[0].healthchecks.active.concurrency: expected an integer from 1 to 2147483647, got 0',
        'c.yaml:7:31 upstreams[0].healthchecks.active.healthy.successes: expected an integer from 0 to 255, got 256',
        'c.yaml:7:57 upstreams[0].healthchecks.active.healthy.http_statuses[1]: expected an integer from 100 to 999, got 99',
        'c.yaml:8:35 upstreams[0].healthchecks.active.expect.json.status: expected a string, a number or true or false, got a list',
        'c.yaml:9:18 upstreams[0].healthchecks.threshold: expected a number from 0 to 100, got 101',
      ],
    ],
    [
      'an unknown key inside expect (our extension)',
      yaml('upstreams:', '  - name: u', '    healthchecks:', '      active:', '        expect: { jsn: {} }'),
      [
        'c.yaml:5:17 upstreams[0].healthchecks.active.expect: missing required key "json"',
        'c.yaml:5:19 upstreams[0].healthchecks.active.expect: unknown key "jsn" (allowed: json)',
      ],
    ],
  ])('%s', (_, text, expected) => {
    expect(errors(text)).toEqual(expected);
  });

  it('reports every error of a file at once, in file order', () => {
    const result = errors(yaml('upstreams:', '  - name: u', '    targets: [{ target: a, weight: -1 }]', 'foo: 1', 'services:', '  - host: h'));
    expect(result).toEqual([
      'c.yaml:3:36 upstreams[0].targets[0].weight: expected an integer from 0 to 65535, got -1',
      'c.yaml:4:1 unknown key "foo" (allowed: proxy, admin, metrics, log, fleet, notifications, services, upstreams, _format_version)',
      'c.yaml:6:5 services[0]: missing required key "name"',
    ]);
  });

  it('follows aliases and merge keys', () => {
    const text = yaml('x-checks: &checks { active: { http_path: /ready } }', 'upstreams:', '  - name: u', '    healthchecks: *checks');
    // x-checks is itself an unknown top-level key; the alias still resolves.
    expect(errors(text)).toEqual([
      'c.yaml:1:1 unknown key "x-checks" (allowed: proxy, admin, metrics, log, fleet, notifications, services, upstreams, _format_version)',
    ]);
    const merged = load(yaml('upstreams:', '  - &base { name: a, healthchecks: { active: { http_path: /ready } } }', '  - { <<: *base, name: b }'));
    expect(merged.upstreams[1].healthchecks.active.http_path).toBe('/ready');
  });
});

describe('YAML syntax errors', () => {
  it.each<[string, string, RegExp]>([
    ['an unclosed flow sequence', yaml('proxy:', '  listen: [a', 'admin: {}'), /^c\.yaml:\d+:\d+ /],
    ['a tab indent', 'services:\n\t- name: a\n', /^c\.yaml:2:1 /],
    ['a duplicate key', yaml('admin: {}', 'admin: {}'), /^c\.yaml:2:1 Map keys must be unique/],
    ['bad indentation', yaml('services:', '  - name: a', '   host: b'), /^c\.yaml:3:\d+ /],
  ])('%s is reported with its position', (_, text, pattern) => {
    const result = errors(text);
    expect(result.length).toBeGreaterThan(0);
    expect(result[0]).toMatch(pattern);
  });

  it('reports a second document', () => {
    expect(errors('services: []\n---\nservices: []\n')[0]).toMatch(/^c\.yaml:2:1 .*multiple documents/);
  });
});

describe('formatDiagnostic', () => {
  it('is FILE:LINE:COL message', () => {
    const d: Diagnostic = { file: 'conf/a.yaml', line: 3, col: 7, message: 'bad' };
    expect(formatDiagnostic(d)).toBe('conf/a.yaml:3:7 bad');
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file and names it in diagnostics', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, yaml('services:', '  - name: s', '    host: h', '    tags: [a]'));
    const result = await loadConfigFile(file, {});
    expect(result.ok).toBe(true);
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      `${file}:4:5 services[0]: ignoring unknown key "tags" (switchyard uses: name, host, port, protocol, path, retries, connect_timeout, read_timeout, write_timeout, routes, split, overrides, sticky, failover, tls_verify, mirror, rollout, previous_host, url)`,
    ]);
  });

  it('reports an unreadable file at 1:1 with the OS message', async () => {
    const file = join(dir, 'missing.yaml');
    const result = await loadConfigFile(file);
    expect(result).toEqual({
      ok: false,
      errors: [{ file, line: 1, col: 1, message: expect.stringContaining('ENOENT: no such file or directory') }],
      warnings: [],
    });
    const isDir = await loadConfigFile(dir);
    expect(isDir.ok || isDir.errors[0].message).toMatch(/EISDIR/);
  });

  it('uses process.env when no env is given', async () => {
    const file = join(dir, 'env.yaml');
    await writeFile(file, 'admin: { token: "${SWITCHYARD_TEST_TOKEN_FOR_CONFIG}" }\n');
    process.env.SWITCHYARD_TEST_TOKEN_FOR_CONFIG = 's3cret';
    try {
      const result = await loadConfigFile(file);
      expect(result.ok && result.config.admin.token).toBe('s3cret');
    } finally {
      delete process.env.SWITCHYARD_TEST_TOKEN_FOR_CONFIG;
    }
  });
});

describe('warnings', () => {
  it('do not stop a config from loading and carry their position', () => {
    expect(warnings(yaml('upstreams:', '  - name: u', '    slots: 10000', '    hash_on: none'))).toEqual([
      'c.yaml:3:5 upstreams[0]: ignoring unknown keys "slots", "hash_on" (switchyard uses: name, algorithm, targets, healthchecks, max_connections, keepalive_timeout)',
    ]);
  });

  it('are returned alongside errors', () => {
    const result = parseConfig(yaml('services:', '  - name: s', '    tags: []'), 'c.yaml', {});
    expect(result.ok).toBe(false);
    expect(result.warnings).toHaveLength(1);
  });
});
