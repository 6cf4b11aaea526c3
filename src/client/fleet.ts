import type { ClientContext, FlagValues } from './context.js';
import { UsageError } from './connection.js';
import { renderTable } from './table.js';

/** A fleet's members as GET /fleet lists them. */
export interface FleetView {
  readonly name: string;
  readonly version: number;
  readonly leader: string | null;
  readonly data: readonly {
    readonly id: string;
    readonly admin: string;
    readonly generation: number;
    readonly applied_at: string | null;
    readonly last_seen: string;
    readonly leader: boolean;
    readonly upstreams: Readonly<Record<string, { healthy: number; total: number }>>;
  }[];
}

export function isFleetView(v: unknown): v is FleetView {
  const f = v as Partial<FleetView> | null;
  return typeof f === 'object' && f !== null && typeof f.name === 'string' && typeof f.version === 'number' && Array.isArray(f.data);
}

/** What `?wait=fleet` adds to an answer: each instance's apply time after the call. */
interface FleetProof {
  readonly version: number;
  readonly instances: readonly { id: string; after_ms: number }[];
}

/** The flags --wait-fleet and --fleet-timeout, as the query they ask for ('' without them). */
export function fleetQuery(flags: FlagValues): string {
  if (flags['fleet-timeout'] !== undefined && !flags['wait-fleet']) throw new UsageError('--fleet-timeout bounds --wait-fleet: give --wait-fleet too');
  if (!flags['wait-fleet']) return '';
  const timeout = typeof flags['fleet-timeout'] === 'string' ? `&timeout=${encodeURIComponent(flags['fleet-timeout'])}` : '';
  return `?wait=fleet${timeout}`;
}

export const FLEET_OPTIONS = { 'wait-fleet': { type: 'boolean' }, 'fleet-timeout': { type: 'string' } } as const;

export const FLEET_HELP = `  --wait-fleet             answer only once every live instance of the fleet applied the change
                           (an HTTP 504, exit 1, names those that did not in time)
  --fleet-timeout 5s       how long --wait-fleet waits (default 5s)
`;

/** "applied by a, b, c within 4 ms" for an answer that waited for the fleet; '' otherwise. */
export function fleetLine(body: unknown): string {
  const proof = (body as { fleet?: FleetProof } | null)?.fleet;
  if (!proof || !Array.isArray(proof.instances)) return '';
  const slowest = Math.max(0, ...proof.instances.map((i) => i.after_ms));
  return `fleet version ${proof.version} applied by ${proof.instances.map((i) => i.id).join(', ')} within ${slowest} ms of the call\n`;
}

/** GET /fleet as a table: one row per live instance. */
export async function fleetReport(ctx: ClientContext): Promise<{ view: FleetView; text: string }> {
  const view = await ctx.client.get<FleetView>('/fleet', { shape: isFleetView });
  const rows = view.data.map((m) => [
    m.leader ? `${m.id} (leader)` : m.id,
    m.admin,
    String(m.generation),
    m.last_seen,
    Object.entries(m.upstreams)
      .map(([name, h]) => `${name} ${h.healthy}/${h.total}`)
      .join(', '),
  ]);
  const head = `fleet ${view.name}: version ${view.version}, ${view.data.length} live instance(s), leader ${view.leader ?? 'none'}\n`;
  return { view, text: `${head}\n${renderTable(['INSTANCE', 'ADMIN', { heading: 'GENERATION', align: 'right' }, 'LAST SEEN', 'TARGETS HEALTHY'], rows)}` };
}
