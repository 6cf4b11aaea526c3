import { describe, expect, it } from 'vitest';
import { hostHeaderCount, removeDotSegments, splitAbsoluteForm } from '../../src/proxy/request-target.js';

describe('request target', () => {
  it.each([
    ['/a/b?x=1', '/a/b?x=1'],
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/.%2E/admin', '/admin'],
    ['/s/../../etc/passwd', '/etc/passwd'],
    ['/../../x', '/x'],
    ['/a/./b/.', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/a/..b/c', '/a/..b/c'],
    ['/a/.../c', '/a/.../c'],
    ['/a/b?q=/../x', '/a/b?q=/../x'],
    ['/a/%2e/b?q', '/a/b?q'],
    ['/.hidden', '/.hidden'],
  ])('normalises %s to %s', (url, expected) => {
    expect(removeDotSegments(url)).toBe(expected);
  });

  it('returns the same string when there is nothing to remove', () => {
    const url = '/api/v1/items?id=3';
    expect(removeDotSegments(url)).toBe(url);
  });

  it('splits absolute-form targets into authority and path', () => {
    expect(splitAbsoluteForm('http://api.example.com:8080/a?b')).toEqual({ authority: 'api.example.com:8080', path: '/a?b' });
    expect(splitAbsoluteForm('http://api.example.com')).toEqual({ authority: 'api.example.com', path: '/' });
    expect(splitAbsoluteForm('http://h?x=1')).toEqual({ authority: 'h', path: '/?x=1' });
    expect(splitAbsoluteForm('/a')).toBeUndefined();
    expect(splitAbsoluteForm('*')).toBeUndefined();
  });

  it('counts Host headers whatever their case', () => {
    expect(hostHeaderCount(['Host', 'a', 'x-y', 'z'])).toBe(1);
    expect(hostHeaderCount(['host', 'a', 'HOST', 'b'])).toBe(2);
    expect(hostHeaderCount(['hOSt', 'a', 'post', 'b'])).toBe(1);
  });
});
