import { UsageError } from './connection.js';
import { EXIT, printJson, type ClientCommand } from './context.js';
import { waitForRollout } from './follow.js';
import { FLEET_HELP, FLEET_OPTIONS, fleetLine, fleetQuery } from './fleet.js';
import { formatTraffic, rolloutReport } from './rollout-format.js';
import { waitTimeout } from './switch.js';
import { isRollbackView, isRolloutView, type RollbackView, type RolloutView } from './views.js';

/** What `rollout ACTION` may do; all but status are `POST /services/NAME/rollout/ACTION`. */
const ACTIONS = ['pause', 'resume', 'promote', 'abort', 'status'] as const;

/** `switchyard rollout pause|resume|promote|abort|status SERVICE`. */
export const rolloutCommand: ClientCommand = {
  name: 'rollout',
  summary: 'pause|resume|promote|abort|status a rollout',
  usage: `usage: switchyard rollout pause|resume|promote|abort SERVICE [options]
       switchyard rollout status SERVICE [--wait [--timeout DURATION]] [options]

  pause     hold at the current step; traffic stays split as it is
  resume    carry on from the current step with a fresh window
  promote   send 100% to the new upstream now (also passes a manual gate)
  abort     send all traffic back to where the rollout started, at once
  status    show the rollout: state, step, split, every judgement's figures;
            --wait follows it as \`switch --wait\` does (exit 0 succeeded, 1 rolled back or
            aborted or --timeout passed, 130 Ctrl-C); --timeout DURATION bounds the wait
An action the rollout's state does not allow (resume after an abort) is refused with 409.
${FLEET_HELP}`,
  options: { wait: { type: 'boolean' }, timeout: { type: 'string' }, ...FLEET_OPTIONS },
  args: ['ACTION', 'SERVICE'],
  async run(ctx, [action, service], flags) {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(`unknown rollout action "${action}" (expected one of ${ACTIONS.join(', ')})`);
    }
    if (action !== 'status' && (flags.wait || flags.timeout !== undefined)) throw new UsageError('--wait and --timeout go with `rollout status`');
    const timeoutMs = waitTimeout(flags);
    const fleet = fleetQuery(flags);
    if (action === 'status' && fleet) throw new UsageError('--wait-fleet goes with a change: pause, resume, promote or abort');
    const path = `/services/${encodeURIComponent(service)}/rollout`;
    const view =
      action === 'status'
        ? await ctx.client.get<RolloutView>(path, { shape: isRolloutView })
        : (await ctx.client.call<RolloutView>('POST', `${path}/${action}${fleet}`, { shape: isRolloutView })).body;
    if (!ctx.json) ctx.io.out(fleetLine(view));
    if (flags.wait) {
      if (!ctx.json) ctx.io.out(rolloutReport(view) + '\n');
      return waitForRollout(ctx, view, timeoutMs, view.judgements.length);
    }
    if (ctx.json) printJson(ctx.io, view);
    else ctx.io.out(rolloutReport(view));
    return EXIT.ok;
  },
};

/** `switchyard rollback SERVICE`. */
export const rollbackCommand: ClientCommand = {
  name: 'rollback',
  summary: 'all traffic back to the host before the last switch',
  usage: `usage: switchyard rollback SERVICE [options]

Send all of SERVICE's traffic back, at once, to the host it had before its last switch
(POST /services/SERVICE/rollback). During a rollout, this aborts the rollout. With nothing to
roll back to (no switch since start-up) the admin API refuses with 400.
${FLEET_HELP}`,
  options: { ...FLEET_OPTIONS },
  args: ['SERVICE'],
  async run(ctx, [service], flags) {
    const path = `/services/${encodeURIComponent(service)}/rollback${fleetQuery(flags)}`;
    const { body } = await ctx.client.call<RollbackView>('POST', path, { shape: isRollbackView });
    if (ctx.json) printJson(ctx.io, body);
    else {
      const h = body.history;
      const what = h ? `${h.event.replace('_', ' ')}: traffic ${formatTraffic(h.traffic)}` : 'done';
      ctx.io.out(`${body.service} rolled back (${what})\n${fleetLine(body)}`);
    }
    return EXIT.ok;
  },
};
