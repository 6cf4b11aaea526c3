import { describe, expect, it } from 'vitest';
import { hostOf, Router, type RouteSpec } from '../../src/routing/router.js';
import { upstreamPath } from '../../src/proxy/server.js';

const route = (target: string, r: Partial<RouteSpec<string>>): RouteSpec<string> => ({
  hosts: [],
  paths: [],
  methods: [],
  ...r,
  target,
});
const req = (url: string, method = 'GET', headers: Record<string, string> = {}) => ({ url, method, headers });

describe('Router', () => {
  const router = new Router([
    route('root', { paths: ['/'] }),
    route('api', { paths: ['/api'] }),
    route('api-v2', { paths: ['/api/v2'] }),
    route('api-post', { paths: ['/api'], methods: ['POST'] }),
    route('exact-host', { hosts: ['example.domain.com'], paths: ['/'] }),
    route('wild-host', { hosts: ['*.domain.com'] }),
    route('deeper-wild', { hosts: ['*.eu.domain.com'] }),
    route('canary-header', { paths: ['/api'], headers: { 'x-canary': ['yes'] } }),
  ]);

  it.each([
    ['/', 'GET', '', 'root'],
    ['/other', 'GET', '', 'root'],
    ['/api/users', 'GET', '', 'api'],
    ['/api/v2/users?x=1', 'GET', '', 'api-v2'],
    ['/api', 'POST', '', 'api-post'],
    ['/api', 'GET', 'example.domain.com', 'exact-host'],
    ['/api', 'GET', 'a.domain.com', 'wild-host'],
    ['/api', 'GET', 'x.eu.domain.com', 'deeper-wild'],
    ['/api', 'GET', 'domain.com', 'api'],
    ['/api', 'GET', 'unknown.org', 'api'],
  ])('%s %s host=%s → %s', (url, method, host, expected) => {
    expect(router.match(req(url, method), host)?.target).toBe(expected);
  });

  it('prefers a route that also matches on a header', () => {
    expect(router.match(req('/api/x', 'GET', { 'x-canary': 'YES' }), '')?.target).toBe('canary-header');
    expect(router.match(req('/api/x', 'GET', { 'x-canary': 'no' }), '')?.target).toBe('api');
  });

  it('reports the matched prefix for strip_path', () => {
    expect(router.match(req('/api/v2/users'), '')?.prefix).toBe('/api/v2');
    expect(router.match(req('/x'), 'a.domain.com')?.prefix).toBe('');
  });

  it('returns undefined when nothing matches, and ignores the Host header without host routes', () => {
    const r = new Router([route('only', { paths: ['/only'], methods: ['GET'] })]);
    expect(r.match(req('/nope'), '')).toBeUndefined();
    expect(r.match(req('/only', 'DELETE'), '')).toBeUndefined();
    expect(r.usesHost).toBe(false);
    expect(router.usesHost).toBe(true);
  });
});

describe('hostOf', () => {
  it.each([
    [undefined, ''],
    ['Example.COM', 'example.com'],
    ['example.com:8000', 'example.com'],
    ['[::1]:8000', '[::1]'],
    ['127.0.0.1', '127.0.0.1'],
  ])('%s → %s', (header, expected) => expect(hostOf(header)).toBe(expected));
});

describe('upstreamPath', () => {
  it.each([
    // url, stripped prefix, service path, expected
    ['/api/users?q=1', '', '', '/api/users?q=1'],
    ['/api/users', '/api', '', '/users'],
    ['/api', '/api', '', '/'],
    ['/api?q=1', '/api', '', '/?q=1'],
    ['/x/y', '/', '', '/x/y'], // paths: ["/"] with strip_path (Kong's default) keeps the leading slash
    ['/apix', '/api', '', '/x'],
    ['/api/users', '/api', '/anything', '/anything/users'],
    ['/api', '/api', '/anything', '/anything'],
    ['/users', '', '/anything/', '/anything/users'],
    ['/apix', '/api', '/base', '/base/x'],
  ])('%s less %s under %s → %s', (url, strip, base, expected) => {
    expect(upstreamPath(url, strip, base)).toBe(expected);
  });
});
