import { parseDuration } from '../config/schema/kinds.js';
import { UsageError } from './connection.js';
import { EXIT, printJson, type ClientCommand, type FlagValues } from './context.js';
import { waitForRollout } from './follow.js';
import { AdminHttpError } from './admin-client.js';
import { FLEET_HELP, FLEET_OPTIONS, fleetLine, fleetQuery } from './fleet.js';
import { formatTraffic, rolloutReport } from './rollout-format.js';
import { isRolloutView, isServiceView, type RolloutView, type ServiceView } from './views.js';

/** Rollout flags → the field of the rollout request they set; all but steps and interval are optional. */
const PLAN_FLAGS = {
  'max-error-rate': ['analysis', 'max_error_rate'],
  'max-p99-ms': ['analysis', 'max_p99_ms'],
  'min-requests': ['analysis', 'min_requests'],
  'min-mirror-match': ['analysis', 'min_mirror_match'],
  'failure-threshold': [undefined, 'failure_threshold'],
  'on-failure': [undefined, 'on_failure'],
  gate: [undefined, 'gate'],
  'max-inconclusive': [undefined, 'max_inconclusive'],
  'on-restart': [undefined, 'on_restart'],
} as const;

/** `switchyard switch SERVICE UPSTREAM`: the instant switch, or with --steps/--interval a gradual rollout. */
export const switchCommand: ClientCommand = {
  name: 'switch',
  summary: 'instant switch; with --steps, --interval: a rollout',
  usage: `usage: switchyard switch SERVICE UPSTREAM [--force] [options]
       switchyard switch SERVICE UPSTREAM --steps 10,25,50,100 --interval 30s [rollout options] [--wait [--timeout D]]

Without --steps or --interval: the instant switch (PATCH /services/SERVICE {"host": UPSTREAM}).
When it returns, every new request goes to UPSTREAM; requests in flight finish where they are.
A switch while a rollout of SERVICE runs is refused (409) unless --force, which aborts it first.

With --steps or --interval: a gradual rollout (POST /services/SERVICE/rollout). Each step sets the
split, runs for --interval, then is judged on UPSTREAM's own traffic in that window; it advances
on a pass. Flags left out take the server's defaults (10,25,50,100 every 30s; 0.01; 500; 100; 2;
rollback; auto; 5; resume).
  --steps 10,25,50,100     percent of traffic on UPSTREAM per step, increasing, ending at 100
  --interval 30s           how long each step runs before it is judged (ms, s, m, h)
  --max-error-rate 0.01    a step fails above this share of 5xx and transport errors
  --max-p99-ms 500         a step fails above this p99 latency
  --min-requests 100       fewer requests in the window: inconclusive, the step waits (0 judges any)
  --min-mirror-match 0.99  first a shadow phase: no traffic moves until SERVICE's mirror to
                           UPSTREAM matches this share of --min-requests compared pairs
  --failure-threshold 2    failed judgements before --on-failure applies
  --on-failure rollback    rollback (all traffic back at once) or pause (hold for a person)
  --gate manual            hold before the final step until \`switchyard rollout promote SERVICE\`
  --max-inconclusive 5     inconclusive judgements in a row before it pauses for a person
  --on-restart resume      after a switchyard restart: resume from the step, or pause
  --force                  abort a rollout of SERVICE that is running, then start this one
  --wait                   follow the rollout (a line per judgement and state change) until it
                           ends: exit 0 if it succeeded, 1 if rolled back or aborted; a pause is
                           printed with its reason and waiting goes on. Ctrl-C stops following
                           (exit 130), not the rollout. With --json: the final rollout as JSON.
                           An admin API that stops answering (a restart) is retried for 30s.
  --timeout DURATION       with --wait: give up after DURATION (exit 1); the rollout goes on
${FLEET_HELP}`,
  options: {
    force: { type: 'boolean' },
    steps: { type: 'string' },
    interval: { type: 'string' },
    ...Object.fromEntries(Object.keys(PLAN_FLAGS).map((f) => [f, { type: 'string' as const }])),
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
    ...FLEET_OPTIONS,
  },
  args: ['SERVICE', 'UPSTREAM'],
  async run(ctx, [service, upstream], flags) {
    const path = `/services/${encodeURIComponent(service)}`;
    const plan = rolloutBody(upstream, flags);
    const timeoutMs = waitTimeout(flags);
    const fleet = fleetQuery(flags);
    if (plan === undefined) {
      const body: Record<string, unknown> = { host: upstream, ...(flags.force ? { force: true } : {}) };
      const { body: svc } = await withForceHint(ctx.client.call<ServiceView>('PATCH', path + fleet, { body, shape: isServiceView }));
      if (ctx.json) printJson(ctx.io, svc);
      else ctx.io.out(`switched ${svc.name} to ${upstream}: traffic ${formatTraffic(svc.traffic)}\n${fleetLine(svc)}`);
      return EXIT.ok;
    }
    const { body: view } = await withForceHint(ctx.client.call<RolloutView>('POST', `${path}/rollout${fleet}`, { body: plan, shape: isRolloutView }));
    if (!ctx.json) ctx.io.out(fleetLine(view));
    if (flags.wait) {
      if (!ctx.json) ctx.io.out(rolloutReport(view) + '\n');
      return waitForRollout(ctx, view, timeoutMs);
    }
    if (ctx.json) printJson(ctx.io, view);
    else ctx.io.out(`${rolloutReport(view)}\nfollow it with: switchyard rollout status ${service} --wait\n`);
    return EXIT.ok;
  },
};

/**
 * The rollout request the flags ask for, or undefined for an instant switch. Values go to
 * the server as given (numbers as numbers) so that its validation, and its messages, rule.
 */
export function rolloutBody(to: string, flags: FlagValues): Record<string, unknown> | undefined {
  const rollout = flags.steps !== undefined || flags.interval !== undefined;
  if (!rollout) {
    const stray = [...Object.keys(PLAN_FLAGS), 'wait', 'timeout'].find((f) => flags[f] !== undefined);
    if (stray) throw new UsageError(`--${stray} applies to a gradual rollout: give --steps and/or --interval too`);
    return undefined;
  }
  const body: Record<string, unknown> = { to };
  if (typeof flags.steps === 'string') body.steps = steps(flags.steps);
  if (typeof flags.interval === 'string') body.interval = flags.interval;
  const analysis: Record<string, unknown> = {};
  for (const [flag, [group, field]] of Object.entries(PLAN_FLAGS)) {
    const value = flags[flag];
    if (typeof value !== 'string') continue;
    const typed = group === 'analysis' || field === 'failure_threshold' || field === 'max_inconclusive' ? numberOrText(value) : value;
    if (group === 'analysis') analysis[field] = typed;
    else body[field] = typed;
  }
  if (Object.keys(analysis).length > 0) body.analysis = analysis;
  if (flags.force) body.force = true;
  return body;
}

/** --timeout in milliseconds (only with --wait), or undefined: follow until the end. */
export function waitTimeout(flags: FlagValues): number | undefined {
  if (flags.timeout === undefined) return undefined;
  if (!flags.wait) throw new UsageError('--timeout bounds --wait: give --wait too');
  const ms = parseDuration(flags.timeout);
  if (ms === undefined || ms < 50 || ms > 86_400_000) {
    throw new UsageError(
      `--timeout: expected a duration such as "30s", "2m", "500ms" or a number of milliseconds, from 50 ms to 24 h; got ${JSON.stringify(flags.timeout)}`,
    );
  }
  return Math.round(ms);
}

/** A 409 (a rollout is running) says what to do in the CLI's words. */
async function withForceHint<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof AdminHttpError && err.status === 409) throw new AdminHttpError(409, `${err.message} (with the CLI: --force)`, err.body);
    throw err;
  }
}

/** "10,25,50,100" → [10, 25, 50, 100]; anything else goes as written, for the server to explain. */
function steps(text: string): unknown {
  const parts = text.split(',').map((s) => numberOrText(s.trim()));
  return parts.every((p) => typeof p === 'number') ? parts : text;
}

function numberOrText(text: string): number | string {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}
