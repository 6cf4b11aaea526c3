/**
 * The JSONPath subset `compare.ignore_json` takes: `$` then `.name`, `['name']`, `[N]`,
 * `.*` or `[*]` (every member), and `..name` (that key at any depth). Enough to name
 * the fields that differ on every answer (ids, timestamps) without a query language.
 */

/** One step of a path. */
export type Step =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'deep'; readonly key: string };

/** A parsed path. */
export type JsonPath = readonly Step[];

const NAME = /^[A-Za-z0-9_$@-]+/;

/** Parse a path, or say what is wrong with it. */
export function parseJsonPath(text: string): JsonPath | string {
  if (!text.startsWith('$')) return 'expected a path starting with "$", such as "$.timestamp"';
  const steps: Step[] = [];
  let rest = text.slice(1);
  while (rest !== '') {
    const step = nextStep(rest);
    if (step === undefined) return `cannot read "${rest}" (expected .name, ..name, .*, [N], [*] or ['name'])`;
    steps.push(step.step);
    rest = rest.slice(step.length);
  }
  if (steps.length === 0) return 'the whole document cannot be ignored; name a field, such as "$.timestamp"';
  return steps;
}

function nextStep(rest: string): { step: Step; length: number } | undefined {
  if (rest.startsWith('..')) {
    const name = NAME.exec(rest.slice(2))?.[0];
    return name === undefined ? undefined : { step: { kind: 'deep', key: name }, length: 2 + name.length };
  }
  if (rest.startsWith('.*')) return { step: { kind: 'any' }, length: 2 };
  if (rest.startsWith('[*]')) return { step: { kind: 'any' }, length: 3 };
  if (rest.startsWith('.')) {
    const name = NAME.exec(rest.slice(1))?.[0];
    return name === undefined ? undefined : { step: { kind: 'key', key: name }, length: 1 + name.length };
  }
  const index = /^\[(\d{1,9})\]/.exec(rest);
  if (index) return { step: { kind: 'index', index: Number(index[1]) }, length: index[0].length };
  const quoted = /^\[(?:'([^']*)'|"([^"]*)")\]/.exec(rest);
  if (quoted) return { step: { kind: 'key', key: quoted[1] ?? quoted[2] }, length: quoted[0].length };
  return undefined;
}

/** Remove what each path names from a parsed JSON value, in place. */
export function removePaths(value: unknown, paths: readonly JsonPath[]): void {
  for (const path of paths) remove(value, path, 0);
}

function remove(node: unknown, path: JsonPath, i: number): void {
  if (node === null || typeof node !== 'object') return;
  const step = path[i];
  const last = i === path.length - 1;
  if (step.kind === 'deep') {
    // The key here, then the same search in every child (the key's own value included, when kept).
    if (!Array.isArray(node) && Object.hasOwn(node, step.key)) {
      if (last) delete (node as Record<string, unknown>)[step.key];
      else remove((node as Record<string, unknown>)[step.key], path, i + 1);
    }
    for (const child of Object.values(node)) remove(child, path, i);
    return;
  }
  for (const key of keysOf(node, step)) {
    if (last) deleteMember(node, key);
    else remove((node as Record<string, unknown>)[key], path, i + 1);
  }
}

/** The members of a node one step names. */
function keysOf(node: object, step: Exclude<Step, { kind: 'deep' }>): string[] {
  if (step.kind === 'any') return Object.keys(node);
  if (step.kind === 'index') return Array.isArray(node) && step.index < node.length ? [String(step.index)] : [];
  return !Array.isArray(node) && Object.hasOwn(node, step.key) ? [step.key] : [];
}

/** An array member is blanked rather than spliced out, so that the indexes after it still line up. */
function deleteMember(node: object, key: string): void {
  if (Array.isArray(node)) node[Number(key)] = null;
  else delete (node as Record<string, unknown>)[key];
}
