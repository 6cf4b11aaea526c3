/**
 * The rollout chart as a hand-written SVG: observed share by colour over time as a stacked
 * step area (green below, blue above), the configured green share as a dashed line, a
 * marker at each step change and a badge at each judgement. No dependency; the output is
 * small and diffs readably.
 */

/** Answers in one time bucket: from `t` (s from the rollout's start) for `width` s. */
export interface ChartBucket {
  t: number;
  width: number;
  blue: number;
  green: number;
  failed: number;
}

/** Everything the chart shows. */
export interface ChartData {
  title: string;
  subtitle: string;
  /** The usual bucket width (the x axis title says it). */
  bucketSeconds: number;
  buckets: ChartBucket[];
  /** Configured green percent from `t` on. */
  configured: { t: number; pct: number }[];
  /** Vertical markers at step changes. */
  markers: { t: number; label: string }[];
  /** The rollout's judgements of its steps. */
  judgements: { t: number; verdict: string }[];
}

const W = 800;
const H = 400;
const PLOT = { left: 58, right: 780, top: 78, bottom: 342 };
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
const BLUE = '#3b6fd4';
const GREEN = '#2f9e5b';
const INK = '#1f2937';
const MUTED = '#6b7280';
const GRID = '#e5e7eb';
const RED = '#c2410c';
/** Judgement badges sit in a row just inside the top of the plot. */
const BADGE_Y = PLOT.top + 14;

const f = (n: number): string => (Math.round(n * 10) / 10).toString();
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Scales from data to pixels. */
function scales(data: ChartData): { x: (t: number) => number; y: (pct: number) => number; t0: number; t1: number } {
  const t0 = Math.min(...data.buckets.map((b) => b.t), 0);
  const t1 = Math.max(...data.buckets.map((b) => b.t + b.width), 1);
  return {
    x: (t) => PLOT.left + ((t - t0) / (t1 - t0)) * (PLOT.right - PLOT.left),
    y: (pct) => PLOT.bottom - (pct / 100) * (PLOT.bottom - PLOT.top),
    t0,
    t1,
  };
}

/** A point of the green share: held from `t` for `width` s. */
interface Share {
  t: number;
  width: number;
  pct: number;
}

/** A stepped outline through the shares, each held for its bucket. */
function stairs(points: Share[], x: (t: number) => number, y: (p: number) => number): string {
  return points.map((p) => `${f(x(p.t))},${f(y(p.pct))} ${f(x(p.t + p.width))},${f(y(p.pct))}`).join(' ');
}

/** Green share of the answered requests per bucket (buckets with none answered are skipped). */
function shares(data: ChartData): Share[] {
  return data.buckets.filter((b) => b.blue + b.green > 0).map((b) => ({ t: b.t, width: b.width, pct: (100 * b.green) / (b.blue + b.green) }));
}

/** Horizontal grid lines, under the areas. */
function grid(s: ReturnType<typeof scales>): string[] {
  return [0, 25, 50, 75, 100].map((pct) => `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${f(s.y(pct))}" y2="${f(s.y(pct))}" stroke="${GRID}"/>`);
}

/** Ticks, tick labels and axis titles. */
function axes(data: ChartData, s: ReturnType<typeof scales>): string[] {
  const out: string[] = [];
  for (const pct of [0, 25, 50, 75, 100]) out.push(`<text x="${PLOT.left - 8}" y="${f(s.y(pct) + 4)}" text-anchor="end">${pct}</text>`);
  for (let t = Math.ceil(s.t0); t <= Math.floor(s.t1); t++) {
    out.push(`<line x1="${f(s.x(t))}" x2="${f(s.x(t))}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 5}" stroke="${MUTED}"/>`);
    out.push(`<text x="${f(s.x(t))}" y="${PLOT.bottom + 19}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}" stroke="${MUTED}"/>`);
  out.push(
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle" fill="${INK}">time since the rollout started (s); requests by send time in ${data.bucketSeconds * 1000} ms buckets, restarted at each step</text>`,
  );
  const yMid = (PLOT.top + PLOT.bottom) / 2;
  out.push(`<text x="16" y="${yMid}" text-anchor="middle" fill="${INK}" transform="rotate(-90 16 ${yMid})">share of requests (%)</text>`);
  return out;
}

function legend(): string[] {
  const y = 50;
  const item = (x: number, swatch: string, label: string): string => `${swatch}<text x="${x + 22}" y="${y + 4}">${label}</text>`;
  return [
    item(PLOT.left, `<rect x="${PLOT.left}" y="${y - 6}" width="16" height="11" fill="${GREEN}"/>`, 'green (observed)'),
    item(PLOT.left + 140, `<rect x="${PLOT.left + 140}" y="${y - 6}" width="16" height="11" fill="${BLUE}"/>`, 'blue (observed)'),
    item(
      PLOT.left + 270,
      `<line x1="${PLOT.left + 270}" x2="${PLOT.left + 286}" y1="${y}" y2="${y}" stroke="${INK}" stroke-width="2" stroke-dasharray="4 3"/>`,
      'green configured',
    ),
  ];
}

/** A round badge for a judgement: a tick for pass, a cross for fail, "?" for inconclusive. */
function badge(x: number, y: number, verdict: string): string {
  const circle = `<circle cx="${f(x)}" cy="${f(y)}" r="7.5" fill="#ffffff" stroke="${INK}" stroke-opacity="0.5"/>`;
  if (verdict === 'pass') return `${circle}<path d="M${f(x - 3.5)},${f(y)} l2.5,2.8 l4.8,-5.6" fill="none" stroke="${GREEN}" stroke-width="2"/>`;
  if (verdict === 'fail') return `${circle}<path d="M${f(x - 3)},${f(y - 3)} l6,6 M${f(x + 3)},${f(y - 3)} l-6,6" stroke="${RED}" stroke-width="2"/>`;
  return `${circle}<text x="${f(x)}" y="${f(y + 4)}" text-anchor="middle" font-weight="700" fill="${INK}">?</text>`;
}

/** The judgements' legend, at the right of the colour legend. */
function judgementLegend(): string[] {
  const y = 50;
  const x = PLOT.left + 420;
  return [
    `<text x="${x}" y="${y + 4}">judged:</text>`,
    badge(x + 58, y, 'pass'),
    `<text x="${x + 70}" y="${y + 4}">pass</text>`,
    badge(x + 114, y, 'inconclusive'),
    `<text x="${x + 126}" y="${y + 4}">too few requests</text>`,
    badge(x + 240, y, 'fail'),
    `<text x="${x + 252}" y="${y + 4}">fail</text>`,
  ];
}

/** The whole chart. */
export function renderRolloutSvg(data: ChartData): string {
  const s = scales(data);
  const green = shares(data);
  const line = stairs(green, s.x, s.y);
  const first = green[0];
  const last = green.at(-1);
  const end = last ? last.t + last.width : 0;
  const base = first && last ? `${f(s.x(end))},${f(s.y(0))} ${f(s.x(first.t))},${f(s.y(0))}` : '';
  const top = first && last ? `${f(s.x(end))},${f(s.y(100))} ${f(s.x(first.t))},${f(s.y(100))}` : '';
  const conf = data.configured.map((c, i) => ({ t: c.t, pct: c.pct, until: data.configured[i + 1]?.t ?? s.t1 }));
  const confPath = conf.map((c, i) => `${i === 0 ? 'M' : 'L'}${f(s.x(c.t))},${f(s.y(c.pct))} L${f(s.x(c.until))},${f(s.y(c.pct))}`).join(' ');
  const markers = data.markers.flatMap((m) => [
    `<line x1="${f(s.x(m.t))}" x2="${f(s.x(m.t))}" y1="${PLOT.top - 4}" y2="${PLOT.bottom}" stroke="${INK}" stroke-opacity="0.6" stroke-dasharray="2 3"/>`,
    `<text x="${f(s.x(m.t))}" y="${PLOT.top - 8}" text-anchor="middle" fill="${INK}" font-weight="600">${esc(m.label)}</text>`,
  ]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" font-size="12" fill="${MUTED}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="24" font-size="16" font-weight="600" fill="${INK}">${esc(data.title)}</text>`,
    `<text x="${PLOT.left}" y="40">${esc(data.subtitle)}</text>`,
    ...legend(),
    ...judgementLegend(),
    ...grid(s),
    top ? `<polygon points="${line} ${top}" fill="${BLUE}" fill-opacity="0.85"/>` : '',
    base ? `<polygon points="${line} ${base}" fill="${GREEN}" fill-opacity="0.9"/>` : '',
    ...axes(data, s),
    `<path d="${confPath}" fill="none" stroke="${INK}" stroke-width="2" stroke-dasharray="5 4"/>`,
    ...markers,
    ...data.judgements.map((j) => badge(s.x(j.t), BADGE_Y, j.verdict)),
    '</svg>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}
