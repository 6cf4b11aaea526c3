import type { Config, RolloutBlock, UpstreamTarget } from '../config/schema/config-schema.js';
import type { Issue, Path } from '../config/schema/dsl.js';
import { type Draft, editConfig } from '../config/schema/edit.js';
import { unknownUpstream } from '../config/schema/rules.js';
import { NotFoundError } from '../errors.js';
import type { HistoryEvent } from './history.js';

/** What a change that sends all of a service's traffic to one upstream is called in its history. */
export type SwitchEvent = 'switch' | 'rollback' | 'rollout_succeeded' | 'rollout_rolled_back' | 'rollout_aborted';

/** Every kind of change to the running config. Each goes through ChangePipeline.apply, and nothing else swaps the snapshot. */
export type Change =
  /** All of a service's traffic to upstream `to` at once, ending any split or rollout. */
  | { readonly kind: 'switch'; readonly service: string; readonly to: string; readonly event: SwitchEvent; readonly detail?: string }
  /** Service fields set or removed (PATCH /services/NAME); setting `host` is a switch. */
  | { readonly kind: 'service'; readonly service: string; readonly set: Readonly<Record<string, unknown>>; readonly unset: readonly string[] }
  /** A rollout's split and saved progress, as a step is taken. */
  | {
      readonly kind: 'rollout';
      readonly service: string;
      readonly split: Readonly<Record<string, number>>;
      readonly block: RolloutBlock;
      readonly event?: 'rollout_started' | 'rollout_step';
      readonly detail?: string;
    }
  /** An upstream's targets (Kong's target API). */
  | { readonly kind: 'targets'; readonly upstream: string; readonly targets: readonly UpstreamTarget[]; readonly detail: string }
  /** A whole new config: a hand edit of the file, POST /config, or a fleet version (with the history entries it left where it was made). */
  | { readonly kind: 'config'; readonly config: Config; readonly entries?: readonly PlannedEntry[] };

/** A history entry a change will leave, once applied. */
export interface PlannedEntry {
  readonly service: string;
  readonly event: HistoryEvent;
  readonly detail?: string;
}

/** A change worked out against the running config, not yet validated. */
export interface Plan {
  /** The next config, as input to the validator. */
  readonly next: unknown;
  /** The entity the change is about: where a 400's fields are measured from. */
  readonly scope: Path;
  /** Problems the schema alone cannot see (e.g. an admin switch to a name that is no upstream). */
  readonly issues: readonly Issue[];
  readonly entries: readonly PlannedEntry[];
}

/** Work out the next config a change makes of `config`. */
export function planChange(config: Config, change: Change): Plan {
  switch (change.kind) {
    case 'switch': {
      const i = serviceIndex(config, change.service);
      const issue = unknownUpstream(config, change.to, ['services', i, 'host']);
      const next = editService(config, i, (s) => {
        switchHost(s, change.to);
        delete s.split;
        delete s.rollout;
      });
      return { next, scope: ['services', i], issues: issue ? [issue] : [], entries: [{ service: change.service, event: change.event, detail: change.detail }] };
    }
    case 'service': {
      const i = serviceIndex(config, change.service);
      const host = change.set.host;
      // A plain host:port is allowed, but a host alone must be an upstream: "gren" is a typo, not a hostname.
      const unknown = typeof host === 'string' && change.set.port === undefined ? unknownUpstream(config, host, ['services', i, 'host']) : undefined;
      const issue = unknown && { ...unknown, message: `${unknown.message}; to send to a plain host, give its port too` };
      const next = editService(config, i, (s) => {
        // Safe: the keys come from the PATCH schema and the whole config is validated again before it is applied.
        const fields = s as Record<string, unknown>;
        for (const key of change.unset) delete fields[key];
        for (const [key, value] of Object.entries(change.set)) if (key !== 'host') fields[key] = value;
        // A switch ends any split or rollout (a running rollout is aborted before this applies).
        if (typeof host === 'string') {
          switchHost(s, host);
          delete s.split;
          delete s.rollout;
        }
      });
      const detail = JSON.stringify({ ...change.set, ...Object.fromEntries(change.unset.map((k) => [k, null])) });
      return {
        next,
        scope: ['services', i],
        issues: issue ? [issue] : [],
        entries: [{ service: change.service, event: host === undefined ? 'change' : 'switch', detail }],
      };
    }
    case 'rollout': {
      const i = serviceIndex(config, change.service);
      const next = editService(config, i, (s) => {
        s.split = { ...change.split };
        // A deep copy is a fresh, writable object: only the readonly marks differ from Draft.
        s.rollout = structuredClone(change.block) as Draft<RolloutBlock>;
      });
      const entries = change.event ? [{ service: change.service, event: change.event, detail: change.detail }] : [];
      return { next, scope: ['services', i, 'rollout'], issues: [], entries };
    }
    case 'targets': {
      const i = config.upstreams.findIndex((u) => u.name === change.upstream);
      if (i < 0) throw new NotFoundError(`upstream "${change.upstream}" not found`);
      const next = editConfig(config, (d) => {
        // A deep copy is a fresh, writable object: only the readonly marks differ from Draft.
        d.upstreams[i].targets = structuredClone(change.targets) as Draft<UpstreamTarget>[];
      });
      const users = config.services.filter(
        (s) => s.host === change.upstream || Object.hasOwn(s.split ?? {}, change.upstream) || s.overrides?.some((o) => o.upstream === change.upstream),
      );
      return { next, scope: ['upstreams', i], issues: [], entries: users.map((s) => ({ service: s.name, event: 'targets' as const, detail: change.detail })) };
    }
    case 'config': {
      const changed = change.config.services.filter((s) => JSON.stringify(s) !== JSON.stringify(config.services.find((o) => o.name === s.name)));
      const known = new Set(change.config.services.map((s) => s.name));
      const entries = change.entries?.filter((e) => known.has(e.service)) ?? changed.map((s) => ({ service: s.name, event: 'config' as const }));
      return { next: change.config, scope: [], issues: [], entries };
    }
  }
}

/** The index of a service in the config, or 404. */
export function serviceIndex(config: Config, name: string): number {
  const i = config.services.findIndex((s) => s.name === name);
  if (i < 0) throw new NotFoundError(`service "${name}" not found`);
  return i;
}

function editService(config: Config, i: number, edit: (svc: Draft<Config['services'][number]>) => void): Config {
  return editConfig(config, (d) => edit(d.services[i]));
}

/** Point a service at a new host, remembering the old one for rollback (kept in the config, so it survives a restart). */
function switchHost(svc: { host: string; previous_host?: string }, host: string): void {
  if (svc.host !== host) svc.previous_host = svc.host;
  svc.host = host;
}
