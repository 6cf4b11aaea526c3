import { UsageError } from './connection.js';
import { type ClientCommand, EXIT, printJson } from './context.js';
import { renderTable } from './table.js';

/** GET /services/NAME/mirror's answer. */
export interface MirrorView {
  readonly service: string;
  readonly mirror: {
    readonly upstream: string;
    readonly percent: number;
    readonly methods: readonly string[];
    readonly compare: { readonly headers: readonly string[]; readonly ignore_json: readonly string[] };
  } | null;
  readonly since: string | null;
  readonly totals: { readonly requests: number; readonly copied: number; readonly compared: number; readonly matched: number };
  readonly match_rate: number | null;
  readonly mismatches: Readonly<Record<'status' | 'header' | 'body' | 'mirror_error' | 'mirror_timeout', number>>;
  readonly not_compared: Readonly<Record<'dropped' | 'too_large' | 'unpaired', number>>;
  readonly samples: readonly {
    readonly at: string;
    readonly result: string;
    readonly method: string;
    readonly path: string;
    readonly primary_status: number | null;
    readonly mirror_status: number | null;
    readonly headers?: Readonly<Record<string, readonly [string | null, string | null]>>;
    readonly diff?: string;
  }[];
}

const isMirrorView = (b: unknown): boolean => {
  const v = b as Partial<MirrorView> | null;
  return typeof v === 'object' && v !== null && typeof v.service === 'string' && typeof v.totals === 'object' && Array.isArray(v.samples);
};

/** `switchyard mirror status SERVICE`. */
export const mirrorCommand: ClientCommand = {
  name: 'mirror',
  summary: "status: how a service's mirror compares",
  usage: `usage: switchyard mirror status SERVICE [options]

Print how the copies of SERVICE's requests sent to its mirror compared with the answers
clients got: totals, the match rate, mismatches by kind (status, header, body, mirror
error, mirror timeout), copies not compared (dropped, too large, unpaired) and the latest
mismatching samples. Set or remove the mirror with PUT or DELETE /services/SERVICE/mirror
or the config's services[].mirror.
`,
  options: {},
  args: ['ACTION', 'SERVICE'],
  async run(ctx, [action, service]) {
    if (action !== 'status') throw new UsageError(`unknown mirror action "${action}" (expected status)`);
    const view = await ctx.client.get<MirrorView>(`/services/${encodeURIComponent(service)}/mirror`, { shape: isMirrorView });
    if (ctx.json) printJson(ctx.io, view);
    else ctx.io.out(mirrorReport(view));
    return EXIT.ok;
  },
};

/** The report as people read it. */
export function mirrorReport(v: MirrorView): string {
  const m = v.mirror;
  const ignoring = m && m.compare.ignore_json.length > 0 ? ` (ignoring ${m.compare.ignore_json.join(', ')})` : '';
  const head = m
    ? `${v.service} → ${m.upstream}: ${m.percent}% of ${m.methods.join(', ')}; compares status, ${[...m.compare.headers, 'body'].join(', ')}${ignoring}\n`
    : `${v.service}: no mirror${v.since ? ' now; figures of the last one:' : ''}\n`;
  if (v.since === null) return head;
  const t = v.totals;
  const rate = v.match_rate === null ? 'no pair compared yet' : `match rate ${(v.match_rate * 100).toFixed(2)}%`;
  const x = v.mismatches;
  const n = v.not_compared;
  const lines = [
    head,
    `since ${v.since}: ${t.copied} copied, ${t.compared} compared, ${t.matched} matched — ${rate}\n`,
    `mismatches: status ${x.status}, header ${x.header}, body ${x.body}, mirror error ${x.mirror_error}, mirror timeout ${x.mirror_timeout}\n`,
    `not compared: dropped ${n.dropped} (max_concurrent), too large ${n.too_large} (max_body), unpaired ${n.unpaired} (no whole answer to the client)\n`,
  ];
  if (v.samples.length === 0) return lines.join('');
  const rows = v.samples.slice(-10).map((s) => [
    s.at.slice(11, 19),
    s.result,
    s.method,
    s.path,
    String(s.primary_status ?? '-'),
    String(s.mirror_status ?? '-'),
    s.diff ??
      Object.entries(s.headers ?? {})
        .map(([h, [a, b]]) => `${h}: ${a ?? 'none'} vs ${b ?? 'none'}`)
        .join('; '),
  ]);
  const table = renderTable(
    ['AT', 'RESULT', 'METHOD', 'PATH', { heading: 'PRIMARY', align: 'right' }, { heading: 'MIRROR', align: 'right' }, 'DIFFERENCE'],
    rows,
  );
  return `${lines.join('')}\nlatest mismatches${v.samples.length > 10 ? ` (10 of ${v.samples.length}; --json for all)` : ''}:\n${table}`;
}
