import type { Config } from '../config/schema/config-schema.js';
import { checkConfig } from '../config/schema/validate.js';
import { issueText, isMapping } from '../config/schema/dsl.js';

/**
 * What a fleet shares is the traffic model; listeners, the admin token, logging and the
 * fleet block stay per instance and come from each instance's own file (SPEC 10).
 */
export const SHARED_KEYS = ['services', 'upstreams', 'metrics'] as const;

/** The shared part of a config, as the fleet log keeps it: one canonical JSON text. */
export function sharedText(config: Config): string {
  return JSON.stringify({ services: config.services, upstreams: config.upstreams, metrics: config.metrics });
}

/**
 * A version read from the fleet log, made into this instance's config: its shared part with
 * this instance's own sections, validated exactly like a file. What comes from Redis is not
 * trusted: a document that does not parse, carries a per-instance section or fails the schema
 * is refused with the reason.
 */
export function fromShared(text: string, local: Config): { config: Config } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isMapping(doc)) return { error: 'not a JSON object' };
  const stray = Object.keys(doc).filter((k) => !(SHARED_KEYS as readonly string[]).includes(k));
  if (stray.length > 0) return { error: `${stray.join(', ')}: not shared by a fleet (only ${SHARED_KEYS.join(', ')})` };
  const { proxy, admin, log, fleet } = local;
  const { config, issues } = checkConfig({ ...doc, proxy, admin, log, ...(fleet ? { fleet } : {}) });
  if (config) return { config };
  return {
    error: issues
      .filter((i) => i.severity === 'error')
      .map(issueText)
      .join('; '),
  };
}
