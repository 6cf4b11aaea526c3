import type { Config } from '../schema/config-schema.js';
import { issueText } from '../schema/dsl.js';
import { editConfig } from '../schema/edit.js';
import { checkConfig } from '../schema/validate.js';

/** Service fields the admin API and rollouts change; everything else only a person edits. */
export const SERVICE_FIELDS = [
  'protocol',
  'host',
  'port',
  'path',
  'retries',
  'connect_timeout',
  'read_timeout',
  'write_timeout',
  'split',
  'rollout',
  'previous_host',
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
export function applyToConfig(config: Config, overlay: Overlay): { config?: Config; errors: string[] } {
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
  const { config: checked, issues } = checkConfig(next);
  return { config: checked, errors: issues.filter((i) => i.severity === 'error').map(issueText) };
}

/** True when an overlay changes nothing. */
export function isEmpty(overlay: Overlay): boolean {
  return Object.keys(overlay.services).length === 0 && Object.keys(overlay.upstreams).length === 0;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
