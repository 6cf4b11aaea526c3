import { renderTable } from './table.js';
import type { JudgementView, RolloutView } from './views.js';

/** True once a rollout has ended one way or another. */
export function isFinal(state: RolloutView['state']): boolean {
  return state === 'succeeded' || state === 'rolled_back' || state === 'aborted';
}

/** Percent per upstream: "blue 75% · green 25%"; all on one upstream is just its name. */
export function formatTraffic(traffic: Readonly<Record<string, number>>): string {
  const entries = Object.entries(traffic);
  if (entries.length === 0) return '-';
  if (entries.length === 1 && entries[0][1] === 100) return entries[0][0];
  return entries.map(([name, pct]) => `${name} ${pct}%`).join(' · ');
}

/** 200 → "200ms", 30000 → "30s", 90000 → "1m30s", 3600000 → "1h". */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
  const units: [string, number][] = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = ms;
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** "step 2/4", or "shadow" before step 1 (analysis.min_mirror_match). */
function stepOf(v: RolloutView): string {
  return v.step === 0 ? 'shadow' : `step ${v.step}/${v.steps.length}`;
}

/** A rollout in a few words, for the status table: "running, step 2/4 → green". */
export function rolloutBrief(v: RolloutView): string {
  const state = v.state.replace('_', ' ');
  if (v.state === 'succeeded') return `succeeded → ${v.to}`;
  if (isFinal(v.state)) return `${state} (was → ${v.to})`;
  return `${state}, ${stepOf(v)} → ${v.to}`;
}

/** The line that says where a rollout stands: state, step, split and why. */
export function stateLine(v: RolloutView): string {
  const why = v.reason ? ` — ${v.reason}` : '';
  return `${v.state.padEnd(11)} ${stepOf(v)}  ${formatTraffic(v.split)}${why}`;
}

/** One judgement as a line: "judged      step 1/4  green 10%: pass, 52 requests, …". */
export function judgementLine(j: JudgementView, v: RolloutView): string {
  const p99 = j.p99_ms === null ? '-' : `${round(j.p99_ms)} ms`;
  if (j.step === 0) {
    const pairs = `${j.requests} mirrored pairs, ${j.errors} not matching`;
    return `${'judged'.padEnd(11)} shadow  ${v.to} 0%: ${j.verdict} (${pairs}) — ${j.reason}`;
  }
  const figures = `${j.requests} requests, ${j.errors} errors, error rate ${round(j.error_rate)}, p99 ${p99}`;
  return `${'judged'.padEnd(11)} step ${j.step}/${v.steps.length}  ${v.to} ${j.weight}%: ${j.verdict} (${figures}) — ${j.reason}`;
}

/** A rollout in full, for people: what it does, where it stands, every judgement. */
export function rolloutReport(v: RolloutView): string {
  const a = v.analysis;
  const lines = [
    `rollout of ${v.service}: ${v.from} → ${v.to}, ${v.state}, ${stepOf(v)}: ${formatTraffic(v.split)}`,
    `  steps ${v.steps.join(', ')}% every ${formatDuration(v.interval_ms)}; pass when error rate ≤ ${a.max_error_rate}, p99 ≤ ${a.max_p99_ms} ms, at least ${a.min_requests} requests`,
    ...(a.min_mirror_match === undefined
      ? []
      : [`  first a shadow phase: the mirror must match at least ${a.min_mirror_match} of ${a.min_requests} compared pairs`]),
    `  on ${v.failure_threshold} failed judgement(s): ${v.on_failure} (failures so far: ${v.failures}); gate ${v.gate}`,
  ];
  if (v.reason) lines.push(`  reason: ${v.reason}`);
  if (v.next_judgement_at) lines.push(`  next judgement at ${v.next_judgement_at}`);
  let out = lines.join('\n') + '\n';
  if (v.judgements.length > 0) out += '\n' + judgementTable(v);
  return out;
}

function judgementTable(v: RolloutView): string {
  const rows = v.judgements.map((j) => [
    j.at,
    j.step === 0 ? 'shadow' : String(j.step),
    `${j.weight}%`,
    j.verdict,
    String(j.requests),
    String(j.errors),
    String(round(j.error_rate)),
    j.p99_ms === null ? '-' : String(round(j.p99_ms)),
    j.reason,
  ]);
  const right = (heading: string) => ({ heading, align: 'right' as const });
  return renderTable(
    ['AT', right('STEP'), right('WEIGHT'), 'VERDICT', right('REQUESTS'), right('ERRORS'), right('ERROR RATE'), right('P99 MS'), 'REASON'],
    rows,
  );
}

function round(n: number): number {
  return Math.round(n * 10000) / 10000;
}
