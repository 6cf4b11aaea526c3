import { isAlias, isMap, isScalar, isSeq, type Pair, parseDocument, stringify, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Overlay } from './overlay.js';

/** One replacement in the source text. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Write an overlay into YAML text by replacing only the spans that change, so that every
 * other byte — comments, their alignment, blank lines, quoting — stays as the person wrote
 * it. Returns undefined when a change needs more than that (e.g. a block sequence to
 * rewrite); the caller then re-renders the document.
 */
export function patchText(text: string, overlay: Overlay): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  const edits: Edit[] = [];
  const plan = (list: string, name: string, fields: Record<string, unknown>): boolean => {
    const seq = doc.get(list, true);
    const map = isSeq(seq) ? seq.items.find((m) => isMap(m) && m.get('name') === name) : undefined;
    // Kong's url shorthand and YAML merge keys (<<) spread one value over several fields: re-render instead.
    if (!isMap(map) || map.has('url') || map.items.some((p) => isScalar(p.key) && p.key.value === '<<')) return false;
    return Object.entries(fields).every(([key, value]) => planKey(text, map, key, value, edits));
  };
  for (const [name, fields] of Object.entries(overlay.services)) if (!plan('services', name, fields)) return undefined;
  for (const [name, fields] of Object.entries(overlay.upstreams)) if (!plan('upstreams', name, fields)) return undefined;
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (let i = 0; i < edits.length; i++) {
    if (i > 0 && edits[i].end > edits[i - 1].start) return undefined; // overlapping: not ours to untangle
    out = out.slice(0, edits[i].start) + edits[i].text + out.slice(edits[i].end);
  }
  return out;
}

/** Plan the edits that make `map[key]` equal `value` (null: remove the key). */
function planKey(text: string, map: YAMLMap, key: string, value: unknown, edits: Edit[]): boolean {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<{ range?: number[] }, unknown> | undefined;
  if (value === null || value === undefined) {
    if (pair) edits.push({ start: lineStart(text, rangeOf(pair.key)[0]), end: pairEnd(pair), text: '' });
    return true;
  }
  if (!pair) return insert(text, map, key, value, edits);
  return planNode(text, pair.value, value, edits);
}

/** Plan the edits that make one node's value equal `value`. */
function planNode(text: string, node: unknown, value: unknown, edits: Edit[]): boolean {
  // An anchored node is shared with its aliases; an alias is someone else's value.
  if (isAlias(node) || ((isScalar(node) || isMap(node) || isSeq(node)) && node.anchor)) return false;
  if (isScalar(node) && isLeaf(value)) {
    if (node.value !== value) edits.push(keepCommentColumn(text, rangeOf(node)[0], rangeOf(node)[1], scalarText(value)));
    return true;
  }
  if (isMap(node) && !node.flow && isObject(value)) {
    if (node.items.some((p) => isScalar(p.key) && p.key.value === '<<')) return false;
    const keys = new Set([...node.items.map((p) => String((p.key as { value?: unknown }).value)), ...Object.keys(value)]);
    return [...keys].every((k) => same(node.get(k, true), value[k]) || planKey(text, node, k, value[k] ?? null, edits));
  }
  if (isSeq(node) && !node.flow && Array.isArray(value)) return planList(text, node, value, edits);
  if ((isMap(node) || isSeq(node)) && node.flow && typeof value === 'object') {
    edits.push({ start: rangeOf(node)[0], end: rangeOf(node)[1], text: flowText(value) });
    return true;
  }
  return false;
}

/**
 * A block list (targets, written one per line): items kept in order are edited in place,
 * removed ones lose their lines, new ones are appended in the same style.
 */
function planList(text: string, seq: YAMLSeq, value: unknown[], edits: Edit[]): boolean {
  const items = seq.items as { range?: number[]; toJSON?(): unknown }[];
  if (items.length === 0 || items.some((it) => !it.range)) return false;
  // Fewer items: the ones left must be old items in their old order, unchanged; the others lose their lines.
  if (value.length < items.length) {
    const remaining = value.map((v) => JSON.stringify(v));
    const keep: number[] = [];
    for (let i = 0; i < items.length; i++) {
      if (keep.length < remaining.length && JSON.stringify(items[i].toJSON?.()) === remaining[keep.length]) keep.push(i);
    }
    if (keep.length !== value.length) return false;
    for (let i = 0; i < items.length; i++) {
      if (!keep.includes(i)) edits.push({ start: lineStart(text, rangeOf(items[i])[0]), end: rangeOf(items[i])[2], text: '' });
    }
    return true;
  }
  const kept = items.length;
  for (let i = 0; i < kept; i++) if (!planNode(text, items[i], value[i], edits)) return false;
  if (value.length === kept) return true;
  const last = rangeOf(items[kept - 1]);
  if (text[last[2] - 1] !== '\n') return false;
  const col = rangeOf(items[0])[0] - lineStart(text, rangeOf(items[0])[0]);
  if (col < 2) return false;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const added = value.slice(kept).map((v) => {
    const lines = stringify(v, { lineWidth: 0 }).trimEnd().split('\n');
    return lines.map((line, k) => (k === 0 ? `${' '.repeat(col - 2)}- ${line}` : `${' '.repeat(col)}${line}`)).join(eol) + eol;
  });
  edits.push({ start: last[2], end: last[2], text: added.join('') });
  return true;
}

/** Add `key: value` as the map's last entry, at its indentation. */
function insert(text: string, map: YAMLMap, key: string, value: unknown, edits: Edit[]): boolean {
  const first = map.items[0];
  const last = map.items.at(-1);
  if (map.flow || !first || !last) return false;
  const at = pairEnd(last as Pair<{ range?: number[] }, unknown>);
  if (at === 0 || text[at - 1] !== '\n') return false;
  const start = rangeOf(first.key)[0];
  const indent = ' '.repeat(start - lineStart(text, start));
  const body = isLeaf(value)
    ? ` ${scalarText(value)}\n`
    : key === 'split' || key === 'targets'
      ? ` ${flowText(value)}\n`
      : `\n${stringify(value, { lineWidth: 0 }).replace(/^/gm, `${indent}  `).replace(/ +$/gm, '')}`;
  // Keep the file's line endings.
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  edits.push({ start: at, end: at, text: `${indent}${key}:${body}`.replace(/\n/g, eol) });
  return true;
}

/** Replace a value, taking up or giving back spaces before a trailing comment so it stays in its column. */
function keepCommentColumn(text: string, start: number, end: number, replacement: string): Edit {
  let spaces = 0;
  while (text[end + spaces] === ' ') spaces++;
  const grow = replacement.length - (end - start);
  if (text[end + spaces] !== '#' || spaces - grow < 1) return { start, end, text: replacement };
  return { start, end: end + spaces, text: replacement + ' '.repeat(spaces - grow) };
}

function pairEnd(pair: Pair<{ range?: number[] }, unknown>): number {
  const v = pair.value as { range?: number[] } | null;
  return v?.range ? v.range[2] : rangeOf(pair.key)[2];
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function isLeaf(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A scalar as YAML source: plain where that cannot be misread, else double-quoted. */
function scalarText(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  const plain = /^[A-Za-z_/][\w./:@-]*$/.test(v) && !/^(true|false|yes|no|on|off|null|~)$/i.test(v);
  return plain ? v : JSON.stringify(v);
}

function flowText(v: unknown): string {
  return stringify(v, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trim();
}

function same(node: unknown, value: unknown): boolean {
  const json = node && typeof (node as { toJSON?: unknown }).toJSON === 'function' ? (node as { toJSON(): unknown }).toJSON() : node;
  return JSON.stringify(json) === JSON.stringify(value);
}

/** A parsed node's source range; every node parsed from text has one. */
function rangeOf(node: unknown): readonly number[] {
  // Safe: yaml's nodes and pairs are objects whose optional `range` is read and checked here.
  const range = (node as { range?: readonly number[] } | null | undefined)?.range;
  if (!range) throw new Error('a YAML node parsed from text has no source range');
  return range;
}
