import { describe, expect, expectTypeOf, it } from 'vitest';
import { formatPath, type Infer, issueText, type Schema, validate } from '../../src/config/schema/dsl.js';
import { array, boolean, enumOf, exactlyOne, integer, number, record, string, union } from '../../src/config/schema/kinds.js';
import { object } from '../../src/config/schema/object.js';

/** Every issue of validating `value`, as text. */
function messages(schema: Schema<unknown>, value: unknown): string[] {
  return validate(schema, value).issues.map(issueText);
}

describe('scalars', () => {
  it.each([
    [integer({ min: 0, max: 65535 }), 'abc', 'expected an integer from 0 to 65535, got "abc"'],
    [integer({ min: 0, max: 65535 }), 1.5, 'expected an integer from 0 to 65535, got 1.5'],
    [integer({ min: 0, max: 65535 }), 65536, 'expected an integer from 0 to 65535, got 65536'],
    [integer({ min: 1 }), 0, 'expected an integer of at least 1, got 0'],
    [integer({ max: 9 }), 10, 'expected an integer of at most 9, got 10'],
    [integer(), null, 'expected an integer, got null'],
    [number({ min: 0, max: 1 }), Infinity, 'expected a number from 0 to 1, got Infinity'],
    [number(), Number.NaN, 'expected a number, got NaN'],
    [number(), [], 'expected a number, got an empty list'],
    [boolean(), 'yes', 'expected true or false, got "yes"'],
    [string(), 5, 'expected a string, got 5'],
    [string({ minLength: 1 }), '', 'expected a non-empty string, got ""'],
    [string({ pattern: /^\//, expected: 'a path' }), 'x', 'expected a path, got "x"'],
    [string(), { a: 1 }, 'expected a string, got a mapping'],
    [string(), [1], 'expected a string, got a list'],
    [enumOf(['http', 'https']), 'ftp', 'expected one of "http", "https", got "ftp"'],
    [enumOf(['round-robin']), 'x', 'expected "round-robin", got "x"'],
    [enumOf(['a'], 'the letter a'), 'b', 'expected the letter a, got "b"'],
    [union(string(), number(), boolean()), null, 'expected a string, a number or true or false, got null'],
  ])('%# rejects %j with a message saying what was expected', (schema, value, message) => {
    expect(messages(schema, value)).toEqual([message]);
  });

  it('truncates long strings in messages', () => {
    const [message] = messages(integer(), 'x'.repeat(100));
    expect(message).toBe(`expected an integer, got "${'x'.repeat(57)}..."`);
  });

  it('accepts valid values unchanged', () => {
    expect(validate(integer({ min: 0, max: 10 }), 10).value).toBe(10);
    expect(validate(number({ min: 0 }), 0.25).value).toBe(0.25);
    expect(validate(boolean(), false).value).toBe(false);
    expect(validate(enumOf(['a', 'b']), 'b').value).toBe('b');
    expect(validate(union(string(), number()), 3).value).toBe(3);
  });
});

describe('array and record', () => {
  it('checks every item and reports each with its index', () => {
    expect(messages(array(integer()), [1, 'x', 2, 'y'])).toEqual(['[1]: expected an integer, got "x"', '[3]: expected an integer, got "y"']);
  });

  it('enforces minItems', () => {
    expect(messages(array(string(), { minItems: 1 }), [])).toEqual(['expected a list with at least 1 entry, got an empty list']);
    expect(messages(array(string()), 'a')).toEqual(['expected a list, got "a"']);
  });

  it('checks record keys at the key and values at the value', () => {
    const schema = record(integer(), { key: string({ pattern: /^[a-z]+$/, expected: 'a lower-case name' }) });
    const { issues } = validate(schema, { ok: 1, Bad: 2, fine: 'x' });
    expect(issues.map((i) => [i.path, i.at, issueText(i)])).toEqual([
      [['Bad'], 'key', 'expected a lower-case name, got "Bad"'],
      [['fine'], 'value', 'fine: expected an integer, got "x"'],
    ]);
  });

  it('reports two keys that normalise to the same name', () => {
    const schema = record(integer(), { key: string().map((k) => k.toLowerCase()) });
    expect(validate(schema, { A: 1, B: 2 }).value).toEqual({ a: 1, b: 2 });
    expect(messages(schema, { X: 1, x: 2 })).toEqual(['"x" is given twice']);
  });
});

describe('object', () => {
  const schema = object({
    name: string(),
    port: integer({ min: 1, max: 65535 }).default(80),
    path: string().optional(),
    tags: array(string()).default([]),
  });

  it('applies defaults and leaves optional keys out', () => {
    const { value } = validate(schema, { name: 'a' });
    expect(value).toEqual({ name: 'a', port: 80, tags: [] });
    expect(Object.keys(value ?? {})).toEqual(['name', 'port', 'tags']);
  });

  it('treats null like an absent optional or defaulted key', () => {
    expect(validate(schema, { name: 'a', port: null, path: null }).value).toEqual({ name: 'a', port: 80, tags: [] });
  });

  it('does not share default objects between results', () => {
    const a = validate(schema, { name: 'a' }).value;
    const b = validate(schema, { name: 'b' }).value;
    expect(a?.tags).not.toBe(b?.tags);
  });

  it('reports a missing required key on the mapping, and null on the value', () => {
    const missing = validate(schema, {}).issues;
    expect(missing).toEqual([{ path: [], at: 'value', severity: 'error', message: 'missing required key "name"' }]);
    expect(messages(schema, { name: null })).toEqual(['name: expected a string, got null']);
  });

  it('rejects unknown keys by default, one error per key at the key', () => {
    const { issues } = validate(schema, { name: 'a', foo: 1, bar: 2 });
    expect(issues.map((i) => [i.path, i.at, i.severity])).toEqual([
      [['foo'], 'key', 'error'],
      [['bar'], 'key', 'error'],
    ]);
    expect(issueText(issues[0])).toBe('unknown key "foo" (allowed: name, port, path, tags)');
  });

  it("warns once about unknown keys in 'warn' mode and still loads", () => {
    const kong = object({ name: string() }, { unknown: 'warn', alsoKnown: ['url'] });
    const { value, issues } = validate(kong, { name: 'a', tags: [], id: 'x' });
    expect(value).toEqual({ name: 'a' });
    expect(issues).toEqual([
      {
        path: ['tags'],
        at: 'key',
        severity: 'warning',
        message: 'ignoring unknown keys "tags", "id" (switchyard uses: name, url)',
      },
    ]);
  });

  it('rejects non-mappings', () => {
    expect(messages(schema, [1])).toEqual(['expected a mapping, got a list']);
  });

  it('runs refinements only on a valid shape, with paths relative to the value', () => {
    const pair = object({ header: string().optional(), cookie: string().optional() }).refine(exactlyOne(['header', 'cookie']));
    expect(messages(pair, {})).toEqual(['expected exactly one of header, cookie, got none']);
    expect(messages(pair, { header: 'a', cookie: 'b' })).toEqual(['expected exactly one of header, cookie, got header and cookie']);
    expect(messages(pair, { header: 1 })).toEqual(['header: expected a string, got 1']);
    const nested = object({ inner: integer().refine((v, report) => v % 2 === 0 || report('expected an even number')) });
    expect(validate(nested, { inner: 3 }).issues[0].path).toEqual(['inner']);
  });

  it('counts a boolean as set for exactlyOne only when true', () => {
    const sticky = object({ header: string().optional(), ip: boolean().optional() }).refine(exactlyOne(['header', 'ip']));
    expect(messages(sticky, { ip: true })).toEqual([]);
    expect(messages(sticky, { header: 'x', ip: false })).toEqual([]);
    expect(messages(sticky, { ip: false })).toEqual(['expected exactly one of header, ip, got none']);
  });

  it('maps values after validation', () => {
    const lower = object({
      host: string().map((h) => h.toLowerCase()),
      token: string()
        .map((t) => t || undefined)
        .optional(),
    });
    expect(validate(lower, { host: 'A.B', token: '' }).value).toEqual({ host: 'a.b' });
  });

  it('infers the output type', () => {
    expectTypeOf<Infer<typeof schema>>().toEqualTypeOf<{ name: string; port: number; path?: string; tags: string[] }>();
  });
});

describe('defaults', () => {
  it('validates the default input, so nested defaults apply', () => {
    const inner = object({ a: integer().default(1), b: object({ c: boolean().default(true) }).default({}) });
    expect(validate(object({ x: inner.default({}) }), {}).value).toEqual({ x: { a: 1, b: { c: true } } });
  });

  it('refuses a default that fails its own schema', () => {
    expect(() => integer({ min: 1 }).default(0)).toThrow('invalid default: expected an integer of at least 1, got 0');
  });
});

describe('JSON Schema', () => {
  it('describes each kind', () => {
    expect(integer({ min: 0, max: 9 }).toJsonSchema()).toEqual({ type: 'integer', minimum: 0, maximum: 9 });
    expect(number().toJsonSchema()).toEqual({ type: 'number' });
    expect(string({ pattern: /^a$/, minLength: 1 }).toJsonSchema()).toEqual({ type: 'string', minLength: 1, pattern: '^a$' });
    expect(enumOf(['a', 'b']).toJsonSchema()).toEqual({ type: 'string', enum: ['a', 'b'] });
    expect(array(boolean(), { minItems: 1 }).toJsonSchema()).toEqual({ type: 'array', items: { type: 'boolean' }, minItems: 1 });
    expect(union(string(), boolean()).toJsonSchema()).toEqual({ anyOf: [{ type: 'string' }, { type: 'boolean' }] });
    expect(record(integer(), { key: string({ pattern: /^k/ }).describe('a key') }).toJsonSchema()).toEqual({
      type: 'object',
      propertyNames: { type: 'string', pattern: '^k' },
      additionalProperties: { type: 'integer' },
    });
  });

  it('marks required keys, defaults, descriptions and the unknown-key policy', () => {
    const schema = object({
      name: string().describe('The name.'),
      port: integer().default(80),
      path: string().optional().describe('Outer wins.'),
    });
    expect(schema.toJsonSchema()).toEqual({
      type: 'object',
      properties: {
        name: { description: 'The name.', type: 'string' },
        port: { type: 'integer', default: 80 },
        path: { description: 'Outer wins.', type: 'string' },
      },
      required: ['name'],
      additionalProperties: false,
    });
    expect(object({ a: string().optional() }, { unknown: 'warn' }).toJsonSchema()).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
    });
  });
});

describe('formatPath', () => {
  it.each([
    [[], ''],
    [['services', 0, 'routes', 1, 'paths'], 'services[0].routes[1].paths'],
    [['split', 'blue'], 'split.blue'],
    [['headers', 'x.y z'], 'headers["x.y z"]'],
    [[2, 'a'], '[2].a'],
  ])('%j -> %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('record keys', () => {
  it('keeps a key named __proto__ as data', () => {
    const value = validate(record(integer()), JSON.parse('{"__proto__": 1, "a": 2}')).value as Record<string, number>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
  });
});
