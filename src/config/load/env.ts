/**
 * `${VAR}` and `${VAR:-default}` in config values, expanded from the environment one scalar
 * node at a time: positions stay those of the file, and a value can never inject YAML
 * structure. An unquoted scalar is re-typed after expansion with YAML's core rules, so
 * `port: ${PORT}` with PORT=8080 is the number 8080, as if 8080 had been written.
 */
import { type Document, isScalar, type ScalarTag, visit } from 'yaml';

/** A problem found while expanding, at a character offset of the file. */
export interface EnvProblem {
  readonly offset: number;
  readonly message: string;
}

// `$${...}` is an escape for a literal `${...}`.
const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expand every reference in `text`: the new text, or every problem found. */
export function expandString(text: string, env: NodeJS.ProcessEnv): { value: string } | { errors: string[] } {
  const errors: string[] = [];
  const value = text.replace(REFERENCE, (whole: string, escaped: string, body: string) => {
    if (escaped) return whole.slice(1);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    const fallback = sep < 0 ? undefined : body.slice(sep + 2);
    if (!NAME.test(name) || fallback?.includes('${')) {
      errors.push(`invalid variable reference "${whole}" (expected \${NAME} or \${NAME:-default})`);
      return whole;
    }
    const set = env[name];
    // As in the shell, `:-` also replaces a variable that is set but empty.
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      errors.push(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      return whole;
    }
    return set;
  });
  if (text.replace(REFERENCE, '').includes('${')) errors.push('unterminated variable reference: "${" without "}"');
  return errors.length > 0 ? { errors } : { value };
}

/** Expand references in every scalar value (not key) of `doc`, in place. */
export function expandEnv(doc: Document, env: NodeJS.ProcessEnv): EnvProblem[] {
  const problems: EnvProblem[] = [];
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const result = expandString(node.value, env);
      if ('errors' in result) {
        const offset = node.range?.[0] ?? 0;
        for (const message of result.errors) problems.push({ offset, message });
        return;
      }
      // Only untagged plain scalars were typed by their text; quoted ones stay strings.
      const plain = node.type === 'PLAIN' && node.tag === undefined;
      node.value = plain ? retype(result.value, doc) : result.value;
    },
  });
  return problems;
}

function isScalarTag(tag: Document['schema']['tags'][number]): tag is ScalarTag {
  return tag.test !== undefined;
}

/** Type a plain scalar's text as the YAML composer would (null, bool, int, float, else string). */
function retype(text: string, doc: Document): unknown {
  const tag = doc.schema.tags.filter(isScalarTag).find((t) => t.default === true && t.test?.test(text));
  if (!tag) return text;
  // Some tags (null) resolve to a Scalar node rather than a bare value.
  const resolved = tag.resolve(text, () => {}, {});
  return isScalar(resolved) ? resolved.value : resolved;
}
