/**
 * A small schema DSL: one declaration gives runtime validation (with messages that say what
 * was expected), defaults, the TypeScript type (`Infer<typeof s>`) and a JSON Schema. It is
 * in-house so the config needs no extra dependency and messages stay under our control.
 * The scalar and collection kinds live in schema-kinds.ts.
 */

/** A location inside a config value: mapping keys and list indexes from the root. */
export type Path = readonly (string | number)[];

/** One validation finding; `at: 'key'` points at a mapping key rather than its value. */
export interface Issue {
  readonly path: Path;
  readonly at: 'value' | 'key';
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/** A JSON Schema (draft-07) fragment. */
export type JsonSchema = { [keyword: string]: unknown };

/** Reports a problem found by a refinement, relative to the value being refined. */
export type Report = (message: string, subpath?: Path, at?: 'value' | 'key') => void;

/** Marks a value that failed validation; its issues are already in the context. */
export const INVALID: unique symbol = Symbol('invalid');
/** The type of INVALID. */
export type Invalid = typeof INVALID;

/** Collects issues during one validation pass. */
export class Context {
  readonly issues: Issue[] = [];

  /**
   * Admin input (form-encoded, as Kong's admin API takes, or JSON with quoted numbers):
   * numbers, booleans and comma-separated lists may be given as text.
   */
  constructor(readonly text = false) {}

  /** Record an error and return INVALID, so callers can `return ctx.error(...)`. */
  error(path: Path, message: string, at: 'value' | 'key' = 'value'): Invalid {
    this.issues.push({ path, at, severity: 'error', message });
    return INVALID;
  }

  /** Record a warning: the value still loads. */
  warn(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    this.issues.push({ path, at, severity: 'warning', message });
  }
}

/** A schema node producing values of type T. */
export abstract class Schema<T> {
  /** Phantom member that carries T for Infer<>; never set at runtime. */
  declare readonly _output: T;
  /** What a valid value looks like, in words, for messages ("an integer from 0 to 255"). */
  abstract readonly expected: string;
  description?: string;

  /** Validate `value` at `path`, returning the typed (and defaulted) value or INVALID. */
  abstract check(value: unknown, path: Path, ctx: Context): T | Invalid;

  /** This node's JSON Schema, without its description. */
  protected abstract json(): JsonSchema;

  /** This node's JSON Schema. */
  toJsonSchema(): JsonSchema {
    const { description, ...json } = this.json();
    // The outermost description wins, so `.optional().describe(...)` overrides the inner one.
    const text = this.description ?? description;
    return text === undefined ? json : { description: text, ...json };
  }

  /** A copy carrying a description, shown by editors through the JSON Schema. */
  describe(text: string): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    return Object.assign(copy, this, { description: text });
  }

  /** Key may be absent (or null); absent keys are left out of the output. */
  optional(): Optional<T> {
    return new Optional(this);
  }

  /** Key may be absent (or null); `input` is then validated as if it had been written. */
  default(input: unknown): Defaulted<T> {
    return new Defaulted(this, input);
  }

  /** Extra checks on a value that already has the right shape. */
  refine(check: (value: T, report: Report) => void, json?: JsonSchema): Schema<T> {
    return new Refined(this, check, (v) => v, json);
  }

  /** Normalise a valid value (lower-case a host, add a default port). */
  map<U>(convert: (value: T) => U): Schema<U> {
    return new Refined(this, () => {}, convert);
  }
}

/** Any schema; used where the output type does not matter. */
// biome-ignore lint/suspicious/noExplicitAny: Schema<unknown> would not accept Schema<T> for every T (the output type is covariant only through `any`).
export type AnySchema = Schema<any>;

/** The output type of a schema. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** See Schema.optional(). */
export class Optional<T> extends Schema<T | undefined> {
  /** Brand for ObjectOutput: structurally, Defaulted would otherwise look optional too. */
  readonly isOptional = true as const;
  readonly expected: string;
  constructor(readonly inner: Schema<T>) {
    super();
    this.expected = inner.expected;
  }
  check(value: unknown, path: Path, ctx: Context): T | undefined | Invalid {
    return value === undefined || value === null ? undefined : this.inner.check(value, path, ctx);
  }
  protected json(): JsonSchema {
    return this.inner.toJsonSchema();
  }
}

/** See Schema.default(). */
export class Defaulted<T> extends Schema<T> {
  readonly expected: string;
  constructor(
    readonly inner: Schema<T>,
    readonly input: unknown,
  ) {
    super();
    this.expected = inner.expected;
    // A default that fails its own schema is a programming error: fail at import time.
    const ctx = new Context();
    inner.check(input, [], ctx);
    if (ctx.issues.length > 0) throw new Error(`invalid default: ${ctx.issues[0].message}`);
  }
  check(value: unknown, path: Path, ctx: Context): T | Invalid {
    // Validated afresh each time so no two configs share a default object.
    return this.inner.check(value === undefined || value === null ? this.input : value, path, ctx);
  }
  protected json(): JsonSchema {
    return { ...this.inner.toJsonSchema(), default: this.input };
  }
}

/** See Schema.refine() and Schema.map(). */
export class Refined<T, U> extends Schema<U> {
  readonly expected: string;
  constructor(
    readonly inner: Schema<T>,
    readonly rule: (value: T, report: Report) => void,
    readonly convert: (value: T) => U,
    readonly extraJson: JsonSchema = {},
  ) {
    super();
    this.expected = inner.expected;
  }
  check(value: unknown, path: Path, ctx: Context): U | Invalid {
    const v = this.inner.check(value, path, ctx);
    if (v === INVALID) return INVALID;
    let failed = false;
    this.rule(v, (message, subpath = [], at = 'value') => {
      failed = true;
      ctx.error([...path, ...subpath], message, at);
    });
    return failed ? INVALID : this.convert(v);
  }
  protected json(): JsonSchema {
    return { ...this.inner.toJsonSchema(), ...this.extraJson };
  }
}

/**
 * Rewrites the raw input before validation (e.g. Kong's `url` shorthand). If `rewrite`
 * reports a problem the inner schema is not run, to avoid a cascade of follow-on errors.
 */
export class Preprocessed<T> extends Schema<T> {
  readonly expected: string;
  constructor(
    readonly inner: Schema<T>,
    readonly rewrite: (value: unknown, report: Report) => unknown,
    readonly patchJson: (json: JsonSchema) => JsonSchema = (j) => j,
  ) {
    super();
    this.expected = inner.expected;
  }
  check(value: unknown, path: Path, ctx: Context): T | Invalid {
    let failed = false;
    const rewritten = this.rewrite(value, (message, subpath = [], at = 'value') => {
      failed = true;
      ctx.error([...path, ...subpath], message, at);
    });
    return failed ? INVALID : this.inner.check(rewritten, path, ctx);
  }
  protected json(): JsonSchema {
    return this.patchJson(this.inner.toJsonSchema());
  }
}

/** Validate `value` against `schema`: the typed value (if no errors) and every issue. */
export function validate<T>(schema: Schema<T>, value: unknown, options: { text?: boolean } = {}): { value?: T; issues: Issue[] } {
  const ctx = new Context(options.text);
  const out = schema.check(value, [], ctx);
  const failed = out === INVALID || ctx.issues.some((i) => i.severity === 'error');
  return failed ? { issues: ctx.issues } : { value: out as T, issues: ctx.issues };
}

/** A path as people write it: `services[0].routes[1].paths`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** An issue as one line of text, prefixed with where it is unless that is the root. */
export function issueText(issue: Issue): string {
  // An issue about a key (unknown, misspelt) is labelled with the mapping that holds it.
  const where = formatPath(issue.at === 'key' ? issue.path.slice(0, -1) : issue.path);
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}

/** A value as a message shows it after "got". */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  return String(value);
}

/** True for a YAML mapping turned into JS (not a list, not null). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
