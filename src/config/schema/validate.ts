/**
 * The one validator: a config from a file, a config built by an admin change, and an admin
 * request body are all checked by the same schema, and bad input is reported in Kong's
 * "schema violation" shape.
 */
import { BadInputError } from '../../errors.js';
import type { Config } from './config-schema.js';
import { configSchema } from './config-schema.js';
import { type Issue, issueText, type Path, type Schema, validate } from './dsl.js';
import { deepFreeze } from './edit.js';
import { checkRules } from './rules.js';

/** A whole config checked by the schema and the cross-entity rules: the frozen config if it has no errors, and every issue. */
export function checkConfig(value: unknown): { config?: Config; issues: Issue[] } {
  const { value: config, issues } = validate(configSchema, value);
  const all = config ? [...issues, ...checkRules(config)] : issues;
  if (config === undefined || all.some((i) => i.severity === 'error')) return { issues: all };
  return { config: deepFreeze(config), issues: all };
}

/** A config built in memory (an admin change), or a 400 whose fields are relative to `scope`. */
export function requireValidConfig(value: unknown, scope: Path = [], extra: readonly Issue[] = []): Config {
  const { config, issues } = checkConfig(value);
  const errors = [...extra, ...issues].filter((i) => i.severity === 'error');
  if (config === undefined || errors.length > 0) throw schemaViolation(errors, scope);
  return config;
}

/**
 * An admin request body checked by `schema`. Kong's admin API takes form input, where every
 * value is text, and JSON clients often send numbers as strings too: numbers, booleans and
 * comma-separated lists are read from text either way. Unknown and inherited keys are refused.
 */
export function checkBody<T>(schema: Schema<T>, body: Record<string, unknown>): T {
  const { value, issues } = validate(schema, body, { text: true });
  const errors = issues.filter((i) => i.severity === 'error');
  if (value === undefined || errors.length > 0) throw schemaViolation(errors, []);
  return value;
}

/**
 * A 400 in Kong's shape: `fields` mirrors the input, each bad field holding its message;
 * problems outside `scope` (or about the entity as a whole) are listed under "@entity".
 */
export function schemaViolation(errors: readonly Issue[], scope: Path): BadInputError {
  const fields: Record<string, unknown> = {};
  for (const issue of errors) {
    const inside = scope.every((seg, i) => issue.path[i] === seg);
    const rel = inside ? issue.path.slice(scope.length) : [];
    if (rel.length === 0) {
      const list = (fields['@entity'] ??= []) as string[];
      list.push(inside ? issue.message : issueText(issue));
      continue;
    }
    let node = fields;
    // Safe: every value put into `fields` on the way down is one of these plain objects (a leaf message is only set at the end).
    for (const seg of rel.slice(0, -1)) node = (node[String(seg)] ??= {}) as Record<string, unknown>;
    node[String(rel[rel.length - 1])] = issue.message;
  }
  const summary = errors.map((i) => {
    const rel = scope.every((seg, k) => i.path[k] === seg) ? { ...i, path: i.path.slice(scope.length) } : i;
    return issueText(rel);
  });
  return new BadInputError(`schema violation (${summary.join('; ')})`, fields);
}
