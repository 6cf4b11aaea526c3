import type { AnalysisMetric, MetricsVerdict, RolloutEngine } from './engine.js';

/**
 * A rollout's analysis metrics at a window's end: each PromQL instant query (Prometheus's
 * `/api/v1/query`), with `{{service}}`, `{{upstream}}` (the new one) and `{{interval}}` (the
 * window, as a Prometheus duration) filled in, checked against its max and min. An error or an
 * empty result is inconclusive, never a pass or a fail; a value out of bounds fails.
 */
export async function queryMetrics(e: RolloutEngine): Promise<MetricsVerdict> {
  const p = e.plan;
  const vars: Record<string, string> = { service: p.service, upstream: p.to, interval: promDuration(p.intervalMs) };
  const results = await Promise.all(p.analysis.metrics.map((m) => one(m, vars)));
  const values: Record<string, number | null> = {};
  for (const r of results) values[r.name] = r.value;
  const failed = results.filter((r) => r.verdict === 'fail');
  const unsure = results.filter((r) => r.verdict === 'inconclusive');
  const verdict = failed.length > 0 ? 'fail' : unsure.length > 0 ? 'inconclusive' : 'pass';
  return { verdict, reason: results.map((r) => r.text).join('; '), values };
}

interface Result {
  readonly name: string;
  readonly value: number | null;
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly text: string;
}

async function one(m: AnalysisMetric, vars: Record<string, string>): Promise<Result> {
  const query = m.query.replace(/\{\{\s*(service|upstream|interval)\s*\}\}/g, (_, k: string) => vars[k]);
  const unsure = (why: string): Result => ({ name: m.name, value: null, verdict: 'inconclusive', text: `${m.name}: ${why}` });
  let value: number;
  try {
    const url = new URL('api/v1/query', m.prometheus.endsWith('/') ? m.prometheus : `${m.prometheus}/`);
    url.searchParams.set('query', query);
    const res = await fetch(url, { signal: AbortSignal.timeout(m.timeoutMs) });
    const body = (await res.json()) as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    if (body.status !== 'success') return unsure(`query failed (${body.error ?? `HTTP ${res.status}`})`);
    const sample = sampleOf(body.data);
    if (sample === undefined) return unsure('no data');
    value = sample;
  } catch (err) {
    return unsure(
      `Prometheus could not be asked (${err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${m.timeoutMs} ms` : err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (Number.isNaN(value)) return unsure('NaN');
  const shown = Math.round(value * 10000) / 10000;
  if (m.max !== undefined && value > m.max) return { name: m.name, value, verdict: 'fail', text: `${m.name} ${shown} above max ${m.max}` };
  if (m.min !== undefined && value < m.min) return { name: m.name, value, verdict: 'fail', text: `${m.name} ${shown} below min ${m.min}` };
  return { name: m.name, value, verdict: 'pass', text: `${m.name} ${shown} within bounds` };
}

/** The first value of an instant query's result: a vector's first sample, or a scalar. */
function sampleOf(data: { resultType?: string; result?: unknown } | undefined): number | undefined {
  const r = data?.result;
  if (data?.resultType === 'scalar' && Array.isArray(r)) return Number(r[1]);
  if (data?.resultType === 'vector' && Array.isArray(r) && r.length > 0) {
    const v = (r[0] as { value?: unknown }).value;
    if (Array.isArray(v)) return Number(v[1]);
  }
  return undefined;
}

/** A window as a Prometheus duration: whole seconds ("30s"), at least 1s. */
function promDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}
