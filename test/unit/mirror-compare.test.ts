import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Captured, compareResponses, firstDifference } from '../../src/mirror/compare.js';
import { type JsonPath, parseJsonPath, removePaths } from '../../src/mirror/json-paths.js';

const path = (p: string) => parseJsonPath(p) as JsonPath;

describe('ignore_json paths', () => {
  it.each([
    ['$.id', [{ kind: 'key', key: 'id' }]],
    [
      "$['x-trace'].at",
      [
        { kind: 'key', key: 'x-trace' },
        { kind: 'key', key: 'at' },
      ],
    ],
    ['$.items[*].id', [{ kind: 'key', key: 'items' }, { kind: 'any' }, { kind: 'key', key: 'id' }]],
    [
      '$.items[2]',
      [
        { kind: 'key', key: 'items' },
        { kind: 'index', index: 2 },
      ],
    ],
    ['$..timestamp', [{ kind: 'deep', key: 'timestamp' }]],
    ['$.*.v', [{ kind: 'any' }, { kind: 'key', key: 'v' }]],
  ])('reads %s', (text, steps) => {
    expect(parseJsonPath(text)).toEqual(steps);
  });

  it.each([
    ['timestamp', 'expected a path starting with "$", such as "$.timestamp"'],
    ['$', 'the whole document cannot be ignored; name a field, such as "$.timestamp"'],
    ['$.a b', `cannot read " b" (expected .name, ..name, .*, [N], [*] or ['name'])`],
    ['$[x]', `cannot read "[x]" (expected .name, ..name, .*, [N], [*] or ['name'])`],
  ])('says what is wrong with %s', (text, message) => {
    expect(parseJsonPath(text)).toBe(message);
  });

  it('removes what each path names, at any depth for ..name, blanking array members so indexes still line up', () => {
    const doc = {
      id: 1,
      a: { timestamp: 2, keep: 3, deeper: [{ timestamp: 4 }] },
      items: [
        { id: 5, v: 1 },
        { id: 6, v: 2 },
      ],
      list: [1, 2, 3],
    };
    removePaths(doc, [path('$.id'), path('$..timestamp'), path('$.items[*].id'), path('$.list[1]'), path('$.missing.x')]);
    expect(doc).toEqual({ a: { keep: 3, deeper: [{}] }, items: [{ v: 1 }, { v: 2 }], list: [1, null, 3] });
  });
});

function captured(status: number, body: string, over: Partial<Captured> = {}): Captured {
  const buf = Buffer.from(body);
  return {
    status,
    headers: new Map(),
    contentType: 'application/json',
    encoding: '',
    body: buf,
    size: buf.length,
    digest: undefined,
    ...over,
  };
}
const settings = { headers: ['x-api'], ignore: [path('$.id')] };

describe('compareResponses', () => {
  it('matches JSON bodies that differ only in ignored paths and key order', () => {
    expect(compareResponses(captured(200, '{"id":1,"a":1,"b":2}'), captured(200, '{"b":2,"a":1,"id":9}'), settings)).toBeUndefined();
  });

  it('reports the first difference: status, then the compared headers, then the body', () => {
    expect(compareResponses(captured(200, '{}'), captured(500, '{"x":1}'), settings)).toEqual({ kind: 'status', diff: 'status 200 vs 500' });
    const h = (v: string) => ({ headers: new Map([['x-api', v]]) });
    expect(compareResponses(captured(200, '{}', h('v1')), captured(200, '{"x":1}', h('v2')), settings)).toEqual({ kind: 'header', headers: ['x-api'] });
    expect(compareResponses(captured(200, '{"p":{"q":[1,2]}}'), captured(200, '{"p":{"q":[1,3]}}'), settings)).toEqual({
      kind: 'body',
      diff: '$.p.q[1]: 2 vs 3',
    });
  });

  it('compares other bodies byte for byte, and bodies past max_body by digest', () => {
    const text = { contentType: 'text/plain' };
    expect(compareResponses(captured(200, 'same', text), captured(200, 'same', text), settings)).toBeUndefined();
    expect(compareResponses(captured(200, 'hello world', text), captured(200, 'hello there', text), settings)).toEqual({
      kind: 'body',
      diff: 'byte 6: "hello world" vs "hello there" (11 vs 11 bytes)',
    });
    // Invalid JSON under a JSON content type is compared as bytes too.
    expect(compareResponses(captured(200, '{"id":1'), captured(200, '{"id":2'), settings)?.kind).toBe('body');
    const big = (body: string) => captured(200, body, { body: undefined, size: 1_000_000, digest: createHash('sha256').update(body).digest('hex') });
    expect(compareResponses(big('a'), big('a'), settings)).toBeUndefined();
    expect(compareResponses(big('a'), big('b'), settings)?.diff).toMatch(/^1000000 vs 1000000 bytes, sha256 [0-9a-f]{12} vs [0-9a-f]{12}$/);
    expect(compareResponses(captured(200, 'a', text), big('a'), settings)?.diff).toMatch(/^1 vs 1000000 bytes, sha256 \(whole\) vs [0-9a-f]{12}$/);
  });

  it('decodes bodies compressed alike before comparing them as JSON', () => {
    const gz = (json: string) => {
      const body = gzipSync(json);
      return captured(200, '', { encoding: 'gzip', body, size: body.length });
    };
    expect(compareResponses(gz('{"id":1,"a":1}'), gz('{"a":1,"id":2}'), settings)).toBeUndefined();
    expect(compareResponses(gz('{"a":1}'), gz('{"a":2}'), settings)).toEqual({ kind: 'body', diff: '$.a: 1 vs 2' });
  });

  it('never quotes the values under secret-looking keys', () => {
    expect(firstDifference({ access_token: 'abc' }, { access_token: 'xyz' }, '$')).toBe('$.access_token: [redacted] vs [redacted]');
    expect(firstDifference({ session: { id: 'a' } }, { session: { id: 'b' } }, '$')).toBe('$.session.id: [redacted] vs [redacted]');
    expect(firstDifference({ Password: 'a' }, {}, '$')).toBe('$.Password: [redacted] vs missing');
  });

  it('names missing keys and array lengths', () => {
    expect(firstDifference({ a: 1 }, { a: 1, b: 'x' }, '$')).toBe('$.b: missing vs "x"');
    expect(firstDifference([1], [1, 2], '$')).toBe('$: 1 vs 2 items');
    expect(firstDifference({ 'x-y': 1 }, { 'x-y': 2 }, '$')).toBe('$["x-y"]: 1 vs 2');
  });
});
