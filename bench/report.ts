import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A goal a scenario is judged against (missing one is reported, never fatal). */
export interface Goal {
  text: string;
  actual: string;
  met: boolean;
}

/** What a scenario hands to the report: its section, its goals, its raw figures. */
export interface ScenarioReport {
  /** File name stem for bench/results/<id>.json. */
  id: string;
  title: string;
  /** Markdown lines of the section body (tables, notes). */
  lines: string[];
  goals: Goal[];
  data: unknown;
  /** Set when the scenario (or part of it) failed to run. */
  error?: string;
}

/** Where the run happened and with which settings. */
export type RunMeta = Record<string, string | number | boolean>;

/** Source-tree bench/results, whether running from bench/ or dist/bench/. */
export const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** A markdown table with padded columns, readable both raw in a terminal and rendered. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

/** A number with thousands separators and `digits` decimals. */
export function num(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds with two decimals, or "–" for none. */
export function ms(value: number | null): string {
  return value === null ? '–' : value.toFixed(2);
}

/** A ratio as "0.87×". */
export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

/** The whole report as markdown: settings, each scenario's section, then every goal. */
export function renderReport(meta: RunMeta, reports: ScenarioReport[]): string {
  const out = [
    '# switchyard benchmarks',
    '',
    table(
      ['setting', 'value'],
      Object.entries(meta).map(([k, v]) => [k, String(v)]),
    ).join('\n'),
  ];
  for (const r of reports) {
    out.push('', `## ${r.title}`, '', ...r.lines);
    if (r.error !== undefined) out.push('', '**Failed to run:**', '', '```', r.error, '```');
  }
  const goals = reports.flatMap((r) => r.goals);
  out.push('', '## Goals', '');
  out.push(
    ...table(
      ['goal', 'measured', 'met'],
      goals.map((g) => [g.text, g.actual, g.met ? 'yes' : 'NO']),
    ),
  );
  return out.join('\n') + '\n';
}

/** Write bench/results/<id>.json per scenario and latest.md with the rendered report. */
export function writeResults(meta: RunMeta, reports: ScenarioReport[], markdown: string): string[] {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const written: string[] = [];
  for (const r of reports) {
    const file = path.join(RESULTS_DIR, `${r.id}.json`);
    const body = { scenario: r.id, title: r.title, meta, error: r.error ?? null, goals: r.goals, data: r.data };
    fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
    written.push(file);
  }
  const latest = path.join(RESULTS_DIR, 'latest.md');
  fs.writeFileSync(latest, markdown);
  written.push(latest);
  return written;
}
