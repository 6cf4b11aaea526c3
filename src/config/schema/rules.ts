/**
 * Rules that span entities, checked once the shape is valid: unique names and targets,
 * and every upstream a split or override names exists.
 */
import type { Config } from './config-schema.js';
import { formatPath, type Issue, type Path } from './dsl.js';

interface Named {
  readonly name: string;
  readonly path: Path;
}

/** Every cross-entity problem of a config whose shape is already valid. */
export function checkRules(config: Config): Issue[] {
  return [...duplicateNames(config), ...unknownUpstreams(config)];
}

function duplicateNames(config: Config): Issue[] {
  const issues: Issue[] = [];
  const report = (what: string, entries: Named[]) => {
    for (const d of duplicates(entries)) {
      issues.push({ path: d.path, at: 'value', severity: 'error', message: `duplicate ${what} "${d.name}" (first at ${d.first})` });
    }
  };
  report(
    'service name',
    config.services.map((s, i) => ({ name: s.name, path: ['services', i, 'name'] })),
  );
  // Route names are unique across services, as in Kong.
  const routes = config.services.flatMap((s, i) =>
    s.routes.flatMap((r, j) => (r.name === undefined ? [] : [{ name: r.name, path: ['services', i, 'routes', j, 'name'] }])),
  );
  report('route name', routes);
  report(
    'upstream name',
    config.upstreams.map((u, i) => ({ name: u.name, path: ['upstreams', i, 'name'] })),
  );
  config.upstreams.forEach((u, i) => {
    // Health state is keyed by address, so one address twice in an upstream is ambiguous.
    report(
      'target',
      u.targets.map((t, j) => ({ name: t.target, path: ['upstreams', i, 'targets', j, 'target'] })),
    );
  });
  return issues;
}

/** The one unknown-upstream check: an error at `path` unless `name` is a declared upstream. */
export function unknownUpstream(config: Config, name: string, path: Path, at: Issue['at'] = 'value'): Issue | undefined {
  if (config.upstreams.some((u) => u.name === name)) return undefined;
  const known = config.upstreams.map((u) => u.name).join(', ') || 'none';
  return { path, at, severity: 'error', message: `unknown upstream "${name}" (declared upstreams: ${known})` };
}

function unknownUpstreams(config: Config): Issue[] {
  const issues: Issue[] = [];
  const declared = new Set(config.upstreams.map((u) => u.name));
  const check = (name: string, path: Path, at: Issue['at'] = 'value') => {
    const issue = unknownUpstream(config, name, path, at);
    if (issue) issues.push(issue);
    return issue !== undefined;
  };
  config.services.forEach((s, i) => {
    // A rollout moves traffic from one upstream (the host) to another; its split says the same again.
    const rolloutToUnknown = s.rollout !== undefined && check(s.rollout.to, ['services', i, 'rollout', 'to']);
    if (s.rollout) {
      if (!declared.has(s.host)) {
        issues.push({
          path: ['services', i, 'host'],
          at: 'value',
          severity: 'error',
          message: `a service with a rollout needs an upstream as its host, not "${s.host}"`,
        });
      } else if (s.rollout.to === s.host) {
        issues.push({
          path: ['services', i, 'rollout', 'to'],
          at: 'value',
          severity: 'error',
          message: `the rollout goes to "${s.host}", which is already the service's host`,
        });
      }
    }
    for (const name of Object.keys(s.split ?? {})) {
      if (!(rolloutToUnknown && name === s.rollout?.to)) check(name, ['services', i, 'split', name], 'key');
    }
    s.overrides?.forEach((o, j) => void check(o.upstream, ['services', i, 'overrides', j, 'upstream']));
    if (s.mirror) check(s.mirror.upstream, ['services', i, 'mirror', 'upstream']);
    // The shadow phase judges the mirror's answers: there must be a mirror, to the upstream the rollout moves to.
    if (s.rollout?.step === 0 && s.rollout.analysis.min_mirror_match !== undefined && s.mirror?.upstream !== s.rollout.to) {
      issues.push({
        path: ['services', i, 'rollout', 'analysis', 'min_mirror_match'],
        at: 'value',
        severity: 'error',
        message: `a shadow phase compares the mirror's answers: give the service mirror: { upstream: ${s.rollout.to} } first`,
      });
    }
    // A plain host is allowed, but one a typo away from an upstream is probably a typo.
    const near = s.split || declared.has(s.host) ? undefined : [...declared].find((u) => distance(u, s.host) <= 2);
    if (near !== undefined) {
      const message = `"${s.host}" is not an upstream, so it is used as a hostname; did you mean "${near}"?`;
      issues.push({ path: ['services', i, 'host'], at: 'value', severity: 'warning', message });
    }
  });
  return issues;
}

/** Every entry whose name an earlier entry already has, with where that one is. */
function duplicates(entries: readonly Named[]): (Named & { first: string })[] {
  const seen = new Map<string, Path>();
  const out: (Named & { first: string })[] = [];
  for (const entry of entries) {
    const first = seen.get(entry.name);
    if (first) out.push({ ...entry, first: formatPath(first.slice(0, -1)) });
    else seen.set(entry.name, entry.path);
  }
  return out;
}

/** Levenshtein edit distance (two-row dynamic programming). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
