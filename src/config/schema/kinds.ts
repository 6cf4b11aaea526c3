/**
 * The node kinds of the schema DSL (see schema-dsl.ts): scalars, lists, mappings, records
 * and unions, each with its check, its words for messages and its JSON Schema.
 */
import {
  type AnySchema,
  Context,
  describeValue,
  type Infer,
  INVALID,
  type Invalid,
  isMapping,
  type JsonSchema,
  type Path,
  type Report,
  Schema,
} from './dsl.js';

/** Options of string(). `expected` replaces "a string" in messages when a pattern is set. */
export interface StringOptions {
  readonly pattern?: RegExp;
  readonly minLength?: number;
  readonly expected?: string;
}

/** A string, optionally non-empty and matching a pattern. */
export class StringSchema extends Schema<string> {
  readonly expected: string;
  constructor(readonly options: StringOptions = {}) {
    super();
    this.expected = options.expected ?? (options.minLength ? 'a non-empty string' : 'a string');
  }
  check(value: unknown, path: Path, ctx: Context): string | Invalid {
    const { pattern, minLength = 0 } = this.options;
    if (typeof value !== 'string' || value.length < minLength || (pattern && !pattern.test(value))) {
      return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
    }
    return value;
  }
  protected json(): JsonSchema {
    const { pattern, minLength } = this.options;
    return { type: 'string', ...(minLength ? { minLength } : {}), ...(pattern ? { pattern: pattern.source } : {}) };
  }
}

/** Bounds of integer() and number(). */
export interface Range {
  readonly min?: number;
  readonly max?: number;
}

/** A finite number, optionally an integer, within an inclusive range. */
export class NumberSchema extends Schema<number> {
  readonly expected: string;
  constructor(
    readonly integer: boolean,
    readonly range: Range = {},
  ) {
    super();
    const { min, max } = range;
    const noun = integer ? 'an integer' : 'a number';
    if (min !== undefined && max !== undefined) this.expected = `${noun} from ${min} to ${max}`;
    else if (min !== undefined) this.expected = `${noun} of at least ${min}`;
    else if (max !== undefined) this.expected = `${noun} of at most ${max}`;
    else this.expected = noun;
  }
  check(input: unknown, path: Path, ctx: Context): number | Invalid {
    const value = ctx.text && typeof input === 'string' && input.trim() !== '' ? Number(input) : input;
    const { min = -Infinity, max = Infinity } = this.range;
    const ok = typeof value === 'number' && Number.isFinite(value) && (!this.integer || Number.isInteger(value));
    if (!ok || value < min || value > max) {
      return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
    }
    return value;
  }
  protected json(): JsonSchema {
    const { min, max } = this.range;
    return {
      type: this.integer ? 'integer' : 'number',
      ...(min !== undefined ? { minimum: min } : {}),
      ...(max !== undefined ? { maximum: max } : {}),
    };
  }
}

/** true or false (YAML 1.2: not yes/no). */
export class BooleanSchema extends Schema<boolean> {
  readonly expected = 'true or false';
  check(value: unknown, path: Path, ctx: Context): boolean | Invalid {
    if (typeof value === 'boolean') return value;
    if (ctx.text && (value === 'true' || value === 'false')) return value === 'true';
    return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
  }
  protected json(): JsonSchema {
    return { type: 'boolean' };
  }
}

/** One of a fixed set of strings. */
export class EnumSchema<V extends string> extends Schema<V> {
  readonly expected: string;
  constructor(
    readonly values: readonly V[],
    expected?: string,
  ) {
    super();
    const quoted = values.map((v) => JSON.stringify(v));
    this.expected = expected ?? (quoted.length === 1 ? quoted[0] : `one of ${quoted.join(', ')}`);
  }
  check(value: unknown, path: Path, ctx: Context): V | Invalid {
    if (this.values.includes(value as V)) return value as V;
    return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
  }
  protected json(): JsonSchema {
    return { type: 'string', enum: [...this.values] };
  }
}

/** A list of items of one schema. */
export class ArraySchema<T> extends Schema<T[]> {
  readonly expected: string;
  constructor(
    readonly of: Schema<T>,
    readonly minItems = 0,
  ) {
    super();
    const entries = minItems === 1 ? 'entry' : 'entries';
    this.expected = minItems > 0 ? `a list with at least ${minItems} ${entries}` : 'a list';
  }
  check(input: unknown, path: Path, ctx: Context): T[] | Invalid {
    const value = ctx.text && typeof input === 'string' ? input.split(',').map((s) => s.trim()) : input;
    if (!Array.isArray(value) || value.length < this.minItems) {
      return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
    }
    const out: T[] = [];
    let ok = true;
    value.forEach((item, i) => {
      const v = this.of.check(item, [...path, i], ctx);
      if (v === INVALID) ok = false;
      else out.push(v);
    });
    return ok ? out : INVALID;
  }
  protected json(): JsonSchema {
    return { type: 'array', items: this.of.toJsonSchema(), ...(this.minItems ? { minItems: this.minItems } : {}) };
  }
}

/** A mapping with free keys (checked by `key`) and values of one schema. */
export class RecordSchema<T> extends Schema<Record<string, T>> {
  readonly expected = 'a mapping';
  constructor(
    readonly of: Schema<T>,
    readonly key: Schema<string> = new StringSchema(),
  ) {
    super();
  }
  check(value: unknown, path: Path, ctx: Context): Record<string, T> | Invalid {
    if (!isMapping(value)) return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
    const out: Record<string, T> = {};
    let ok = true;
    for (const [rawKey, item] of Object.entries(value)) {
      const keyCtx = new Context();
      const key = this.key.check(rawKey, [...path, rawKey], keyCtx);
      // Key problems point at the key, not at its value.
      for (const issue of keyCtx.issues) ctx.error(issue.path, issue.message, 'key');
      const v = this.of.check(item, [...path, rawKey], ctx);
      if (key === INVALID || v === INVALID) {
        ok = false;
      } else if (Object.hasOwn(out, key)) {
        // Two spellings of one name, e.g. header names that differ only in case.
        ctx.error([...path, rawKey], `"${key}" is given twice`, 'key');
        ok = false;
      } else {
        // defineProperty, so that a key named "__proto__" is data and not a prototype.
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      }
    }
    return ok ? out : INVALID;
  }
  protected json(): JsonSchema {
    const { description: _, ...keyJson } = this.key.toJsonSchema();
    return { type: 'object', propertyNames: keyJson, additionalProperties: this.of.toJsonSchema() };
  }
}

/** The first of several schemas that accepts the value. */
export class UnionSchema<T> extends Schema<T> {
  readonly expected: string;
  constructor(readonly options: readonly Schema<T>[]) {
    super();
    const words = options.map((o) => o.expected);
    this.expected = words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : words[0];
  }
  check(value: unknown, path: Path, ctx: Context): T | Invalid {
    for (const option of this.options) {
      const trial = new Context();
      const v = option.check(value, path, trial);
      if (v !== INVALID && trial.issues.length === 0) return v;
    }
    return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
  }
  protected json(): JsonSchema {
    return { anyOf: this.options.map((o) => o.toJsonSchema()) };
  }
}

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds from "30s", "2m", "500ms", "1h" or a number of milliseconds; undefined if it is none of those. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const m = typeof value === 'string' ? DURATION.exec(value) : null;
  return m ? Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS] : undefined;
}

/** A duration in milliseconds, written as a number of milliseconds or as "30s", "2m", "500ms", "1h". */
export class DurationSchema extends Schema<number> {
  readonly expected: string;
  constructor(readonly range: Required<Range>) {
    super();
    this.expected = `a duration such as "30s", "2m", "500ms" or a number of milliseconds, from ${range.min} ms to ${range.max} ms`;
  }
  check(value: unknown, path: Path, ctx: Context): number | Invalid {
    const ms = parseDuration(value);
    if (ms === undefined || ms < this.range.min || ms > this.range.max) return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
    return Math.round(ms);
  }
  protected json(): JsonSchema {
    const { min, max } = this.range;
    return {
      anyOf: [
        { type: 'integer', minimum: min, maximum: max },
        { type: 'string', pattern: DURATION.source },
      ],
    };
  }
}

/** A string schema. */
export const string = (options?: StringOptions): StringSchema => new StringSchema(options);
/** An integer schema with inclusive bounds. */
export const integer = (range?: Range): NumberSchema => new NumberSchema(true, range);
/** A number schema with inclusive bounds. */
export const number = (range?: Range): NumberSchema => new NumberSchema(false, range);
/** A duration schema: milliseconds within inclusive bounds. */
export const duration = (range: Required<Range>): DurationSchema => new DurationSchema(range);
/** A boolean schema. */
export const boolean = (): BooleanSchema => new BooleanSchema();
/** An enum schema; `expected` replaces the generated "one of ..." in messages. */
export const enumOf = <const V extends string>(values: readonly V[], expected?: string): EnumSchema<V> => new EnumSchema(values, expected);
/** A list schema. */
export const array = <T>(of: Schema<T>, options: { minItems?: number } = {}): ArraySchema<T> => new ArraySchema(of, options.minItems);
/** A record (free-keyed mapping) schema. */
export const record = <T>(of: Schema<T>, options: { key?: Schema<string> } = {}): RecordSchema<T> => new RecordSchema(of, options.key);
/** A union schema: the first option that accepts the value wins. */
export const union = <S extends AnySchema[]>(...options: S): UnionSchema<Infer<S[number]>> => new UnionSchema(options);

/** A refinement: exactly one of `keys` is set (a boolean counts only when true). */
export function exactlyOne(keys: readonly string[]): (value: object, report: Report) => void {
  return (value, report) => {
    const record = value as Record<string, unknown>;
    const set = keys.filter((k) => record[k] !== undefined && record[k] !== false);
    if (set.length !== 1) {
      const got = set.length === 0 ? 'none' : set.join(' and ');
      report(`expected exactly one of ${keys.join(', ')}, got ${got}`);
    }
  };
}
