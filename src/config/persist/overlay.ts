import { type Document, isCollection, isMap, isNode, isScalar, isSeq } from 'yaml';
import { editConfig } from './edit.js';
import { validateConfig } from './parse.js';
import type { Config } from './schema.js';

/** Service fields the admin API and rollouts change; everything else only a person edits. */
export const SERVICE_FIELDS = [
  'protocol', 'host', 'port', 'path', 'retries', 'connect_timeout', 'read_timeout', 'write_timeout', 'split', 'rollout',
] as const;

/**
 * What admin changes made of a config: per service and upstream, the fields whose value
 * differs (null: removed). It is what gets written back into the config file, or into the
 * state file when the config file cannot be written.
 */
export interface Overlay {
  services: Record<string, Record<string, unknown>>;
  upstreams: Record<string, { targets: unknown }>;
}

/** The fields that differ between two configs, as an overlay on `before`. */
export function diffOverlay(before: Config, after: Config): Overlay {
  const overlay: Overlay = { services: {}, upstreams: {} };
  for (const svc of after.services) {
    const old = before.services.find((s) => s.name === svc.name);
    if (!old) continue;
    for (const field of SERVICE_FIELDS) {
      if (!same(old[field], svc[field])) (overlay.services[svc.name] ??= {})[field] = svc[field] ?? null;
    }
  }
  for (const up of after.upstreams) {
    const old = before.upstreams.find((u) => u.name === up.name);
    if (old && !same(old.targets, up.targets)) overlay.upstreams[up.name] = { targets: up.targets };
  }
  return overlay;
}

/** A config with an overlay applied, validated like a file; or the errors. */
export function applyToConfig(config: Config, overlay: Overlay): ReturnType<typeof validateConfig> {
  const next = editConfig(config, (draft) => {
    for (const [name, fields] of Object.entries(overlay.services)) {
      const svc = draft.services.find((s) => s.name === name) as Record<string, unknown> | undefined;
      if (!svc) continue;
      for (const [field, value] of Object.entries(fields)) {
        if (value === null) delete svc[field];
        else svc[field] = value;
      }
    }
    for (const [name, { targets }] of Object.entries(overlay.upstreams)) {
      const up = draft.upstreams.find((u) => u.name === name);
      if (up) up.targets = targets as typeof up.targets;
    }
  });
  return validateConfig(next);
}

/** True when an overlay changes nothing. */
export function isEmpty(overlay: Overlay): boolean {
  return Object.keys(overlay.services).length === 0 && Object.keys(overlay.upstreams).length === 0;
}

/**
 * Write an overlay into a YAML document, in place, touching only the changed keys, so
 * that the file's comments and layout survive. Entities are found by name.
 */
export function applyToDocument(doc: Document, overlay: Overlay): void {
  for (const [name, fields] of Object.entries(overlay.services)) {
    const i = indexByName(doc, 'services', name);
    if (i < 0) continue;
    // Kong's `url:` shorthand cannot stand beside the fields it expands to.
    if (doc.hasIn(['services', i, 'url'])) expandUrl(doc, i);
    for (const [field, value] of Object.entries(fields)) {
      if (value === null || value === undefined) doc.deleteIn(['services', i, field]);
      else setKeepingComments(doc, ['services', i, field], value, field === 'split');
    }
  }
  for (const [name, { targets }] of Object.entries(overlay.upstreams)) {
    const i = indexByName(doc, 'upstreams', name);
    if (i >= 0) setKeepingComments(doc, ['upstreams', i, 'targets'], targets, false);
  }
}

/** Set a value at `path`; a scalar keeps its node (and so its comments), a new node takes over the old one's comments. */
function setKeepingComments(doc: Document, path: (string | number)[], value: unknown, flow: boolean): void {
  const old = doc.getIn(path, true);
  if (isScalar(old) && (value === null || typeof value !== 'object')) {
    old.value = value;
    return;
  }
  const node = doc.createNode(value, { flow: flow || (isCollection(old) && old.flow === true) });
  if (isNode(old)) {
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
  }
  doc.setIn(path, node);
}

function indexByName(doc: Document, list: string, name: string): number {
  const seq = doc.getIn([list]);
  if (!isSeq(seq)) return -1;
  return seq.items.findIndex((item) => isMap(item) && item.get('name') === name);
}

/** Replace Kong's `url:` with the fields it stands for (the caller verifies the result parses as intended). */
function expandUrl(doc: Document, i: number): void {
  const url = new URL(String(doc.getIn(['services', i, 'url']))); // throws on ${VAR}: the caller falls back
  doc.deleteIn(['services', i, 'url']);
  doc.setIn(['services', i, 'protocol'], url.protocol.replace(':', ''));
  doc.setIn(['services', i, 'host'], url.hostname);
  doc.setIn(['services', i, 'port'], Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
  if (url.pathname !== '/') doc.setIn(['services', i, 'path'], url.pathname);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
