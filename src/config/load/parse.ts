/**
 * YAML text → a validated, defaulted, deep-frozen Config, or every problem with the file,
 * line and column of the node it is about. Nothing past this file sees raw YAML.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Config } from '../schema/config-schema.js';
import { type Issue, issueText, type Path } from '../schema/dsl.js';
import { checkConfig } from '../schema/validate.js';
import { expandEnv } from './env.js';
import { configTooBig, readConfigText } from './limits.js';

/** One problem in a config file; line and col are 1-based. */
export type Diagnostic = { file: string; line: number; col: number; message: string };

/** A loaded config and its warnings, or the errors that kept it from loading. */
export type ParseResult = { ok: true; config: Config; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

/** A diagnostic as `validate` prints it: "FILE:LINE:COL message". */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col} ${d.message}`;
}

/** Read and parse a config file; an unreadable file is one error at 1:1 with the OS message. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ParseResult> {
  let text: string;
  try {
    text = await readConfigText(file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ file, line: 1, col: 1, message }], warnings: [] };
  }
  return parseConfig(text, file, env);
}

/** Parse config text; `file` only names the source in diagnostics. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ParseResult {
  const refused = configTooBig(text);
  if (refused !== undefined) return failed([{ file, ...positionOf(text, refused.offset), message: refused.message }], []);
  const lineCounter = new LineCounter();
  // merge: `<<: *defaults` is handy for repeated healthchecks and costs nothing.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const at = (offset: number, message: string): Diagnostic => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col, message };
  };
  const warnings = doc.warnings.map((w) => at(w.pos[0], w.message));
  if (doc.errors.length > 0) {
    return failed(
      doc.errors.map((e) => at(e.pos[0], e.message + flowHint(text, e.pos[0]))),
      warnings,
    );
  }

  const envProblems = expandEnv(doc, env);
  if (envProblems.length > 0)
    return failed(
      envProblems.map((p) => at(p.offset, p.message)),
      warnings,
    );

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // e.g. an alias bomb: too many aliases to expand.
    return failed([at(0, err instanceof Error ? err.message : String(err))], warnings);
  }
  // An empty file (or only comments) is an empty config: everything defaults.
  const { config, issues } = checkConfig(raw ?? {});
  const located = (severity: Issue['severity']) =>
    sortByPosition(issues.filter((i) => i.severity === severity).map((i) => at(locate(doc, i.path, i.at), issueText(i))));
  warnings.push(...located('warning'));
  if (config === undefined) return failed(located('error'), sortByPosition(warnings));
  return { ok: true, config, warnings: sortByPosition(warnings) };
}

/** `[${HOST}:80]` is a YAML error ("{" is a flow indicator); say how to write it. */
function flowHint(text: string, offset: number): string {
  const reference = text[offset - 1] === '$' && text[offset] === '{';
  return reference ? ' (inside [ ] or { }, quote a value that uses ${VAR}: "${VAR}")' : '';
}

/** 1-based line and column of an offset, for problems found before the YAML parser runs. */
function positionOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

function failed(errors: Diagnostic[], warnings: Diagnostic[]): ParseResult {
  return { ok: false, errors, warnings };
}

function sortByPosition(list: Diagnostic[]): Diagnostic[] {
  return list.sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * The offset of the node an issue is about. Where the path leaves the document (a key that
 * is missing, or was produced by the `url` shorthand), the nearest enclosing node is used.
 */
function locate(doc: Document, path: Path, at: Issue['at']): number {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      keyNode = pair?.key as Node | undefined;
      next = pair ? (pair.value ?? pair.key) : undefined;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined || next === null) return start(node);
    node = next;
  }
  // An empty value (`weight:`) has no text of its own; its key is what a reader looks for.
  const empty = isScalar(node) && !!node.range && node.range[0] === node.range[1];
  return keyNode !== undefined && (at === 'key' || empty) ? start(keyNode) : start(node);
}

function start(node: unknown): number {
  return (node as Node | null)?.range?.[0] ?? 0;
}
