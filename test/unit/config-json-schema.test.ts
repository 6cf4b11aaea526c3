import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configJsonSchema, writeJsonSchema } from '../../src/config/schema/json-schema.js';
import type { JsonSchema } from '../../src/config/schema/dsl.js';

const committed = fileURLToPath(new URL('../../schema/switchyard.schema.json', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/**
 * Just enough of draft-07 to run the keywords the generator emits, so the tests can check
 * that editors would accept what the validator accepts.
 */
function conforms(schema: JsonSchema, value: unknown): boolean {
  const s = schema as Record<string, any>;
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const types: Record<string, boolean> = {
    object: isObject,
    array: Array.isArray(value),
    string: typeof value === 'string',
    number: typeof value === 'number',
    integer: Number.isInteger(value),
    boolean: typeof value === 'boolean',
  };
  if (s.type && !types[s.type]) return false;
  if (s.anyOf && !s.anyOf.some((sub: JsonSchema) => conforms(sub, value))) return false;
  if (s.enum && !s.enum.includes(value)) return false;
  if (typeof value === 'string') {
    if (s.pattern && !new RegExp(s.pattern).test(value)) return false;
    if (s.minLength && value.length < s.minLength) return false;
  }
  if (typeof value === 'number' && (value < (s.minimum ?? -Infinity) || value > (s.maximum ?? Infinity))) return false;
  if (Array.isArray(value)) {
    if (s.minItems && value.length < s.minItems) return false;
    if (s.items && !value.every((item) => conforms(s.items, item))) return false;
  }
  if (isObject) {
    const obj = value as Record<string, unknown>;
    if ((s.required ?? []).some((k: string) => !(k in obj))) return false;
    if (s.minProperties && Object.keys(obj).length < s.minProperties) return false;
    for (const [k, v] of Object.entries(obj)) {
      if (s.propertyNames && !conforms(s.propertyNames, k)) return false;
      const pattern = Object.entries((s.patternProperties ?? {}) as Record<string, JsonSchema>).find(([re]) => new RegExp(re).test(k));
      const sub = s.properties?.[k] ?? pattern?.[1] ?? s.additionalProperties;
      if (sub === false || (sub && sub !== true && !conforms(sub, v))) return false;
    }
  }
  return true;
}

describe('JSON Schema', () => {
  it('the committed schema/switchyard.schema.json is the generated one', async () => {
    // Regenerate with: UPDATE_SCHEMA=1 npx vitest run test/unit/config-json-schema.test.ts
    if (process.env.UPDATE_SCHEMA) await writeJsonSchema(committed);
    const text = await readFile(committed, 'utf8');
    expect(JSON.parse(text), 'schema/switchyard.schema.json is stale: regenerate it').toEqual(configJsonSchema());
    expect(text).toBe(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

  it('writeJsonSchema writes pretty JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-schema-'));
    try {
      await writeJsonSchema(join(dir, 's.json'));
      expect(JSON.parse(await readFile(join(dir, 's.json'), 'utf8'))).toEqual(configJsonSchema());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is draft-07, closed at the top level and open inside Kong entities', () => {
    const schema = configJsonSchema() as Record<string, any>;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(['proxy', 'admin', 'metrics', 'log', 'fleet', 'notifications', 'services', 'upstreams', '_format_version']);
    const service = schema.properties.services.items;
    expect(service.additionalProperties).toBeUndefined();
    expect(service.required).toEqual(['name']);
    expect(service.anyOf).toEqual([{ required: ['host'] }, { required: ['url'] }]);
    expect(service.properties.retries).toEqual({ type: 'integer', minimum: 0, maximum: 32767, default: 5 });
    const weight = schema.properties.upstreams.items.properties.targets.items.properties.weight;
    expect(weight).toEqual({ type: 'integer', minimum: 0, maximum: 65535, default: 100 });
  });

  it.each(['kong-blue-green.yaml', 'kong-deck-dump.yaml', 'switchyard-split.yaml'])('accepts the fixture %s', async (name) => {
    expect(conforms(configJsonSchema(), parse(await readFile(fixture(name), 'utf8')))).toBe(true);
  });

  it.each([
    ['an unknown top-level key', { foo: 1 }],
    ['a weight out of range', { upstreams: [{ name: 'u', targets: [{ target: 'a:1', weight: 70000 }] }] }],
    ['a service without host or url', { services: [{ name: 's' }] }],
    ['an unsupported algorithm', { upstreams: [{ name: 'u', algorithm: 'least-connections' }] }],
    ['a bad route path', { services: [{ name: 's', host: 'h', routes: [{ paths: ['x'] }] }] }],
  ])('rejects %s, as the validator does', (_, value) => {
    expect(conforms(configJsonSchema(), value)).toBe(false);
  });
});
