/**
 * The mapping kind of the schema DSL: known keys with their own schemas, required unless
 * optional or defaulted, and a policy for unknown keys (errors for our own sections,
 * warnings for Kong's entities so that decK files load).
 */
import {
  type AnySchema,
  type Context,
  Defaulted,
  describeValue,
  type Infer,
  INVALID,
  type Invalid,
  isMapping,
  type JsonSchema,
  Optional,
  type Path,
  Schema,
} from './dsl.js';

/** The known keys of an object schema. */
export type Props = Record<string, AnySchema>;

/** What to do with keys that are not in the schema. */
export type UnknownKeys = 'error' | 'warn';

/** Options of object(). `alsoKnown` names input-only keys (e.g. `url`) for messages. */
export interface ObjectOptions {
  readonly unknown?: UnknownKeys;
  readonly alsoKnown?: readonly string[];
  /** Keys accepted and ignored without a word (decK's `_info`, `_workspace`, … metadata). */
  readonly ignore?: RegExp;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<P> = { [K in keyof P]: P[K] extends Optional<unknown> ? K : never }[keyof P];

/** The output type of object(props): optional() keys become `?:`, the rest are required. */
export type ObjectOutput<P extends Props> = Simplify<
  { [K in Exclude<keyof P, OptionalKeys<P>>]: Infer<P[K]> } & {
    [K in OptionalKeys<P>]?: Exclude<Infer<P[K]>, undefined>;
  }
>;

/** A mapping with known keys. */
export class ObjectSchema<P extends Props> extends Schema<ObjectOutput<P>> {
  readonly expected = 'a mapping';
  readonly unknown: UnknownKeys;
  readonly known: readonly string[];
  readonly ignore?: RegExp;

  constructor(
    readonly props: P,
    options: ObjectOptions = {},
  ) {
    super();
    this.unknown = options.unknown ?? 'error';
    this.known = [...Object.keys(props), ...(options.alsoKnown ?? [])];
    this.ignore = options.ignore;
  }

  check(value: unknown, path: Path, ctx: Context): ObjectOutput<P> | Invalid {
    if (!isMapping(value)) return ctx.error(path, `expected ${this.expected}, got ${describeValue(value)}`);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [key, schema] of Object.entries(this.props)) {
      const raw = value[key];
      // null counts as absent for optional keys: `routes:` with nothing under it means "none".
      const absent = raw === undefined || (raw === null && !isRequired(schema));
      if (absent && schema instanceof Optional) continue;
      if (absent && isRequired(schema)) {
        ctx.error(path, `missing required key "${key}"`);
        ok = false;
        continue;
      }
      const v = schema.check(absent ? undefined : raw, [...path, key], ctx);
      if (v === INVALID) ok = false;
      else if (v !== undefined) out[key] = v;
    }
    this.checkUnknown(value, path, ctx);
    return ok ? (out as ObjectOutput<P>) : INVALID;
  }

  private checkUnknown(value: Record<string, unknown>, path: Path, ctx: Context): void {
    const unknown = Object.keys(value).filter((k) => !Object.hasOwn(this.props, k) && !this.ignore?.test(k));
    if (unknown.length === 0) return;
    const allowed = this.known.join(', ');
    if (this.unknown === 'error') {
      for (const key of unknown) ctx.error([...path, key], `unknown key "${key}" (allowed: ${allowed})`, 'key');
      return;
    }
    // One warning per mapping, at its first unknown key: decK files carry many Kong fields.
    const list = unknown.map((k) => `"${k}"`).join(', ');
    const noun = unknown.length === 1 ? 'key' : 'keys';
    ctx.warn([...path, unknown[0]], `ignoring unknown ${noun} ${list} (switchyard uses: ${allowed})`, 'key');
  }

  /**
   * The schema of a change to some of these fields (an admin PATCH): only `keys`, each
   * optional and without its default (absent means unchanged), unknown keys an error.
   */
  pick(keys: readonly (keyof P & string)[]): ObjectSchema<Props> {
    const props: Props = {};
    for (const key of keys) props[key] = new Optional(bare(this.props[key]));
    return new ObjectSchema(props, { unknown: 'error' });
  }

  protected json(): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    for (const [key, schema] of Object.entries(this.props)) properties[key] = schema.toJsonSchema();
    const required = Object.keys(this.props).filter((k) => isRequired(this.props[k]));
    return {
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
      ...(this.ignore ? { patternProperties: { [this.ignore.source]: {} } } : {}),
      ...(this.unknown === 'error' ? { additionalProperties: false } : {}),
    };
  }
}

/** A field's schema without its optional() or default() wrapper. */
function bare(schema: AnySchema): AnySchema {
  return schema instanceof Optional || schema instanceof Defaulted ? bare(schema.inner) : schema;
}

function isRequired(schema: AnySchema): boolean {
  return !(schema instanceof Optional) && !(schema instanceof Defaulted);
}

/** A mapping schema; unknown keys are errors unless `unknown: 'warn'`. */
export const object = <P extends Props>(props: P, options?: ObjectOptions): ObjectSchema<P> => new ObjectSchema(props, options);
