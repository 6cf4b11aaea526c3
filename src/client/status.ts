import { EXIT, printJson, type ClientCommand, type ClientContext } from './context.js';
import { fleetReport } from './fleet.js';
import { formatTraffic, rolloutBrief } from './rollout-format.js';
import { renderTable } from './table.js';
import {
  isListOf,
  isRolloutView,
  isServiceView,
  isStatusView,
  isUpstreamView,
  type ListView,
  type RolloutView,
  type ServiceView,
  type StatusView,
  type UpstreamView,
} from './views.js';

/** Everything `status` shows, as one document (what --json prints). */
export interface StatusReport {
  readonly status: StatusView;
  readonly services: readonly ServiceView[];
  readonly upstreams: readonly UpstreamView[];
  /** The current or last rollout of each service; null when it never had one. */
  readonly rollouts: Readonly<Record<string, RolloutView | null>>;
}

/** `switchyard status`: the instance, its services' traffic and rollouts, its targets' health. */
export const statusCommand: ClientCommand = {
  name: 'status',
  summary: 'services, their traffic and rollouts, target health',
  usage: `usage: switchyard status [options]

Show the instance (status pass|warn|fail, version, config generation and hash), each service's
traffic (its host, or the split in percent) and its current or last rollout, and every upstream
target with its weight and health. It exits 0 whenever it could ask, whatever the health says.
With --json it prints {status, services, upstreams, rollouts} as the admin API answered
(GET /status, /services, /upstreams, /services/NAME/rollout; rollouts[NAME] is null if none).
  --fleet   the instance's fleet instead (GET /fleet): every live instance with its admin
            address, the version it applied, when it was last seen, and its targets' health
`,
  options: { fleet: { type: 'boolean' } },
  args: [],
  async run(ctx, _args, flags) {
    if (flags.fleet) {
      const { view, text } = await fleetReport(ctx);
      if (ctx.json) printJson(ctx.io, view);
      else ctx.io.out(text);
      return EXIT.ok;
    }
    const report = await fetchStatus(ctx);
    if (ctx.json) printJson(ctx.io, report);
    else ctx.io.out(renderStatus(report, ctx.client.endpoint.url));
    return EXIT.ok;
  },
};

/** Ask the admin API for everything `status` shows, concurrently. */
export async function fetchStatus(ctx: ClientContext, signal?: AbortSignal): Promise<StatusReport> {
  const c = ctx.client;
  const [status, services, upstreams] = await Promise.all([
    c.get<StatusView>('/status', { signal, shape: isStatusView }),
    c.get<ListView<ServiceView>>('/services', { signal, shape: isListOf(isServiceView) }),
    c.get<ListView<UpstreamView>>('/upstreams', { signal, shape: isListOf(isUpstreamView) }),
  ]);
  const rollout = (name: string) => c.find<RolloutView>(`/services/${encodeURIComponent(name)}/rollout`, { signal, shape: isRolloutView });
  const views = await Promise.all(services.data.map((s) => rollout(s.name)));
  const rollouts = Object.fromEntries(services.data.map((s, i) => [s.name, views[i] ?? null]));
  return { status, services: services.data, upstreams: upstreams.data, rollouts };
}

/** The status report as text: a heading, then the services table, then the targets table. */
export function renderStatus(r: StatusReport, adminUrl: string): string {
  const d = r.status.details;
  const source = d.config_source ? ` from ${d.config_source}` : '';
  const uptime = d.uptime_seconds === undefined ? '' : `, up ${formatUptime(d.uptime_seconds)}`;
  let out = `switchyard ${r.status.version} at ${adminUrl}: ${r.status.status}\n`;
  out += `config generation ${d.generation}, hash ${d.config_hash}${source}${uptime}\n`;
  if (d.services_without_healthy_targets?.length) out += `no healthy target for: ${d.services_without_healthy_targets.join(', ')}\n`;
  const services = r.services.map((s) => {
    const rollout = r.rollouts[s.name];
    return [s.name, formatTraffic(s.traffic), rollout ? rolloutBrief(rollout) : '-'];
  });
  out += '\n' + renderTable(['SERVICE', 'TRAFFIC', 'ROLLOUT'], services);
  const targets = r.upstreams.flatMap((u) =>
    u.targets.length === 0
      ? [[u.name, '(no targets)', '', '']]
      : u.targets.map((t) => [u.name, t.target, String(t.weight), t.draining ? `${t.health} (draining)` : t.health]),
  );
  out += '\n' + renderTable(['UPSTREAM', 'TARGET', { heading: 'WEIGHT', align: 'right' }, 'HEALTH'], targets);
  return out;
}

/** 59 → "59s", 3725 → "1h 2m". */
function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}
