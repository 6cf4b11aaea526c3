import { describe, expect, it } from 'vitest';
import { expandString } from '../../src/config/load/env.js';
import { formatDiagnostic, parseConfig } from '../../src/config/load/parse.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

describe('expandString', () => {
  const env = { HOST: 'blue', PORT: '8080', EMPTY: '' };

  it.each([
    ['${HOST}', 'blue'],
    ['${HOST}:${PORT}', 'blue:8080'],
    ['http://${HOST}/x', 'http://blue/x'],
    ['${MISSING:-green}', 'green'],
    ['${MISSING:-}', ''],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${HOST:-green}', 'blue'],
    ['${EMPTY}', ''],
    ['${MISSING:-a:-b}', 'a:-b'],
    ['$${HOST}', '${HOST}'],
    ['$HOST and $', '$HOST and $'],
    ['no references', 'no references'],
  ])('%s -> %j', (text, value) => {
    expect(expandString(text, env)).toEqual({ value });
  });

  it.each([
    ['${MISSING}', ['environment variable MISSING is not set (write ${MISSING:-default} to give a default)']],
    [
      '${A}${B}',
      [
        'environment variable A is not set (write ${A:-default} to give a default)',
        'environment variable B is not set (write ${B:-default} to give a default)',
      ],
    ],
    ['${1X}', ['invalid variable reference "${1X}" (expected ${NAME} or ${NAME:-default})']],
    ['${}', ['invalid variable reference "${}" (expected ${NAME} or ${NAME:-default})']],
    ['${A:-${B}}', ['invalid variable reference "${A:-${B}" (expected ${NAME} or ${NAME:-default})']],
    ['${HOST', ['unterminated variable reference: "${" without "}"']],
  ])('%s is an error', (text, errors) => {
    expect(expandString(text, env)).toEqual({ errors });
  });
});

describe('expansion in a config', () => {
  const load = (text: string, env: NodeJS.ProcessEnv) => {
    const result = parseConfig(text, 'c.yaml', env);
    if (!result.ok) expect.fail(result.errors.map(formatDiagnostic).join('\n'));
    return result.config;
  };

  it('re-types an unquoted scalar with YAML core rules, as if the value had been written', () => {
    const config = load(
      yaml(
        'services:',
        '  - name: s',
        '    host: ${HOST}',
        '    port: ${PORT}',
        '    failover: ${FAILOVER}',
        'upstreams:',
        '  - name: u',
        '    healthchecks:',
        '      active:',
        '        timeout: ${TIMEOUT}',
      ),
      { HOST: 'backend', PORT: '8080', FAILOVER: 'false', TIMEOUT: '2.5' },
    );
    expect(config.services[0]).toMatchObject({ host: 'backend', port: 8080, failover: false });
    expect(config.upstreams[0].healthchecks.active.timeout).toBe(2.5);
  });

  it('keeps a quoted scalar a string', () => {
    const result = parseConfig(yaml('services:', '  - { name: s, host: h, port: "${PORT}" }'), 'c.yaml', { PORT: '8080' });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual(['c.yaml:2:31 services[0].port: expected an integer from 1 to 65535, got "8080"']);
    const config = load(yaml('admin:', '  token: "${TOKEN}"'), { TOKEN: '12345' });
    expect(config.admin.token).toBe('12345');
  });

  it('keeps an explicitly tagged scalar a string', () => {
    expect(load(yaml('admin:', '  token: !!str ${TOKEN}'), { TOKEN: '12345' }).admin.token).toBe('12345');
  });

  it('expands inside block scalars and lists', () => {
    const config = load(yaml('admin:', '  token: |-', '    ${TOKEN}', 'proxy:', '  listen:', '    - ${BIND:-127.0.0.1}:${PORT}', '    - "[::1]:${PORT}"'), {
      TOKEN: 'multi',
      PORT: '0',
    });
    expect(config.admin.token).toBe('multi');
    expect(config.proxy.listen).toEqual(['127.0.0.1:0', '[::1]:0']);
  });

  it('never lets a value inject YAML structure', () => {
    const config = load(yaml('admin:', '  token: ${TOKEN}'), { TOKEN: '{ a: 1 }\nlisten: 0.0.0.0:80' });
    expect(config.admin).toEqual({ listen: '127.0.0.1:8001', token: '{ a: 1 }\nlisten: 0.0.0.0:80' });
  });

  it('does not expand keys or comments', () => {
    const result = parseConfig(yaml('# ${NOT_SET}', 'admin:', '  ${KEY}: x'), 'c.yaml', { KEY: 'token' });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual(['c.yaml:3:3 admin: unknown key "${KEY}" (allowed: listen, token)']);
  });

  it('drops an admin token that expands to empty: no token, not the empty token', () => {
    for (const text of ['admin:\n  token: ${SWITCHYARD_ADMIN_TOKEN:-}\n', 'admin: { token: "${SWITCHYARD_ADMIN_TOKEN:-}" }\n']) {
      const config = load(text, {});
      expect(config.admin).toEqual({ listen: '127.0.0.1:8001' });
      expect('token' in config.admin).toBe(false);
    }
    expect(load('admin:\n  token: ${SWITCHYARD_ADMIN_TOKEN:-}\n', { SWITCHYARD_ADMIN_TOKEN: 'abc' }).admin.token).toBe('abc');
  });

  it('explains that an unquoted reference inside [ ] or { } is a YAML error', () => {
    const result = parseConfig('proxy: { listen: [${BIND}] }\n', 'c.yaml', { BIND: '127.0.0.1:0' });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)[0]).toMatch(
      /^c\.yaml:1:20 .*\(inside \[ \] or \{ \}, quote a value that uses \$\{VAR\}: "\$\{VAR\}"\)$/,
    );
  });

  it('reports an unset variable at its node, naming it', () => {
    const result = parseConfig(
      yaml('admin:', '  listen: 127.0.0.1:8001', '  token: ${SWITCHYARD_ADMIN_TOKEN}', 'proxy:', '  listen: ["${BIND}:8000"]'),
      'c.yaml',
      {},
    );
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      'c.yaml:3:10 environment variable SWITCHYARD_ADMIN_TOKEN is not set (write ${SWITCHYARD_ADMIN_TOKEN:-default} to give a default)',
      'c.yaml:5:12 environment variable BIND is not set (write ${BIND:-default} to give a default)',
    ]);
  });

  it('validates the expanded value, pointing at the original node', () => {
    const result = parseConfig(yaml('upstreams:', '  - name: u', '    targets:', '      - target: ${T}', '        weight: ${W}'), 'c.yaml', {
      T: 'a:1',
      W: 'heavy',
    });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      'c.yaml:5:17 upstreams[0].targets[0].weight: expected an integer from 0 to 65535, got "heavy"',
    ]);
  });
});
