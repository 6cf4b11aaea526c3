import type { Config } from '../config/schema/config-schema.js';
import type { PlannedEntry } from '../core/changes.js';
import type { HistoryEvent } from '../core/history.js';
import { checkConfig } from '../config/schema/validate.js';
import { issueText, isMapping } from '../config/schema/dsl.js';

/**
 * What a fleet shares is the traffic model; listeners, the admin token, logging and the
 * fleet block stay per instance and come from each instance's own file (SPEC 10).
 */
export const SHARED_KEYS = ['services', 'upstreams', 'metrics', 'notifications'] as const;

/** The shared part of a config, as the fleet log keeps it: one canonical JSON text. */
export function sharedText(config: Config): string {
  return JSON.stringify({ services: config.services, upstreams: config.upstreams, metrics: config.metrics, notifications: config.notifications });
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
  // A version always carries these: one without services would silently remove them all (notifications came later, and may be absent).
  const absent = (['services', 'upstreams', 'metrics'] as const).filter((k) => !Object.hasOwn(doc, k));
  if (absent.length > 0) return { error: `missing ${absent.join(', ')}` };
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

const EVENTS: ReadonlySet<string> = new Set<HistoryEvent>([
  'switch',
  'rollback',
  'change',
  'targets',
  'config',
  'rollout_started',
  'rollout_step',
  'rollout_judgement',
  'rollout_paused',
  'rollout_resumed',
  'rollout_succeeded',
  'rollout_rolled_back',
  'rollout_aborted',
]);

/**
 * Who made a version and the history entries it left where it was made (a switch, a rollout
 * step and its reason), read from the entry's meta; anything malformed is dropped, since the
 * entries only describe a version, never change it.
 */
export function entriesOf(meta: string): { by: string; entries?: PlannedEntry[] } {
  let m: { instance?: unknown; entries?: unknown };
  try {
    m = JSON.parse(meta) as typeof m;
  } catch {
    return { by: 'unknown' };
  }
  const by = typeof m?.instance === 'string' ? m.instance.slice(0, 200) : 'unknown';
  if (!Array.isArray(m.entries)) return { by };
  const entries: PlannedEntry[] = [];
  for (const e of m.entries.slice(0, 1000) as { service?: unknown; event?: unknown; detail?: unknown }[]) {
    if (typeof e?.service !== 'string' || typeof e.event !== 'string' || !EVENTS.has(e.event)) continue;
    const detail = typeof e.detail === 'string' ? e.detail.slice(0, 2000) : undefined;
    entries.push({ service: e.service, event: e.event as HistoryEvent, ...(detail !== undefined ? { detail } : {}) });
  }
  return { by, entries };
}
