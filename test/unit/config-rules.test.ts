import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfig } from '../../src/config/load/parse.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

function check(text: string): { errors: string[]; warnings: string[] } {
  const result = parseConfig(text, 'c.yaml', {});
  return {
    errors: result.ok ? [] : result.errors.map(formatDiagnostic),
    warnings: result.warnings.map(formatDiagnostic),
  };
}

describe('rules across entities', () => {
  it('requires unique service names, at the second name', () => {
    expect(check(yaml('services:', '  - { name: a, host: h }', '  - { name: b, host: h }', '  - { name: a, host: h }')).errors).toEqual([
      'c.yaml:4:13 services[2].name: duplicate service name "a" (first at services[0])',
    ]);
  });

  it('requires unique upstream names', () => {
    expect(check(yaml('upstreams:', '  - name: blue', '  - name: blue')).errors).toEqual([
      'c.yaml:3:11 upstreams[1].name: duplicate upstream name "blue" (first at upstreams[0])',
    ]);
  });

  it('requires unique route names across services, as Kong does', () => {
    const text = yaml(
      'services:',
      '  - name: a',
      '    host: h',
      '    routes: [{ name: r, paths: [/a] }, { paths: [/c] }]',
      '  - name: b',
      '    host: h',
      '    routes: [{ name: r, paths: [/b] }, { paths: [/d] }]',
    );
    expect(check(text).errors).toEqual(['c.yaml:7:22 services[1].routes[0].name: duplicate route name "r" (first at services[0].routes[0])']);
  });

  it('requires unique targets in an upstream, after adding the default port', () => {
    const text = yaml(
      'upstreams:',
      '  - name: u',
      '    targets:',
      '      - target: a',
      '      - target: a:8000',
      '  - name: v',
      '    targets: [{ target: a }]',
    );
    expect(check(text).errors).toEqual(['c.yaml:5:17 upstreams[0].targets[1].target: duplicate target "a:8000" (first at upstreams[0].targets[0])']);
  });

  it('requires every upstream in a split to exist, at its key', () => {
    const text = yaml(
      'services:',
      '  - name: s',
      '    host: blue',
      '    split:',
      '      blue: 90',
      '      gren: 10',
      'upstreams: [{ name: blue }, { name: green }]',
    );
    expect(check(text).errors).toEqual(['c.yaml:6:7 services[0].split: unknown upstream "gren" (declared upstreams: blue, green)']);
  });

  it('requires every upstream in an override to exist', () => {
    const text = yaml('services:', '  - name: s', '    host: h', '    overrides: [{ header: x, value: v, upstream: green }]');
    expect(check(text).errors).toEqual(['c.yaml:4:50 services[0].overrides[0].upstream: unknown upstream "green" (declared upstreams: none)']);
  });

  it('accepts a plain host that is not an upstream', () => {
    expect(check(yaml('services:', '  - { name: s, host: api.internal }', 'upstreams: [{ name: blue }]'))).toEqual({
      errors: [],
      warnings: [],
    });
  });

  it('warns about a host one typo away from an upstream', () => {
    expect(check(yaml('services:', '  - { name: s, host: gren }', 'upstreams: [{ name: green }]'))).toEqual({
      errors: [],
      warnings: ['c.yaml:2:22 services[0].host: "gren" is not an upstream, so it is used as a hostname; did you mean "green"?'],
    });
  });

  it('ignores the host of a service with a split', () => {
    const text = yaml('services:', '  - { name: s, host: gren, split: { green: 1 } }', 'upstreams: [{ name: green }]');
    expect(check(text)).toEqual({ errors: [], warnings: [] });
  });

  it('runs only once the shape is valid, so a shape error is not followed by noise', () => {
    const text = yaml('services:', '  - { name: a, host: h, port: x }', '  - { name: a, host: h }');
    expect(check(text).errors).toEqual(['c.yaml:2:31 services[0].port: expected an integer from 1 to 65535, got "x"']);
  });

  it('requires a rollout to go from an upstream host to another declared upstream', () => {
    const base = ['upstreams: [{ name: blue }, { name: green }]', 'services:'];
    const rollout = (host: string, to: string) =>
      check(yaml(...base, `  - { name: s, host: ${host}, rollout: { to: ${to}, steps: [10, 100], interval: 1000 } }`)).errors;
    expect(rollout('blue', 'green')).toEqual([]);
    expect(rollout('blue', 'greem')).toEqual([expect.stringMatching(/rollout\.to: unknown upstream "greem" \(declared upstreams: blue, green\)/)]);
    expect(rollout('blue', 'blue')).toEqual([expect.stringMatching(/already the service's host/)]);
    expect(rollout('example.com', 'green')).toEqual([expect.stringMatching(/needs an upstream as its host/)]);
  });
});
