/**
 * SPEC 9.4, a picture: the accuracy run's request log drawn as traffic share by colour over
 * time, with the configured share and the step changes, written to bench/results/rollout.svg
 * (committed, shown in the README); its data goes in the scenario's JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buckets, clientMs } from './rollout-analysis.js';
import { accuracyRun, LOOPS, STEPS } from './rollout-runs.js';
import { renderRolloutSvg, type ChartData } from './rollout-svg.js';
import { summariseAccuracy } from './rollout-summary.js';
import { num, RESULTS_DIR, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';

const BUCKET_MS = 250;
const SVG_FILE = 'rollout.svg';

/** The chart's data from the accuracy run (times in s from the POST). */
async function chartData(s: BenchSettings): Promise<ChartData> {
  const run = await accuracyRun(s);
  const sum = summariseAccuracy(run);
  const zero = sum.zeroMs;
  const changes = sum.boundaries;
  const all = buckets(
    run.log,
    BUCKET_MS,
    changes.map((b) => b.atMs),
  );
  const sec = (msOnClock: number): number => Math.round(msOnClock - zero) / 1000;
  return {
    title: 'Gradual rollout blue → green under load',
    subtitle: `steps ${STEPS.join(' → ')}% every ${s.rolloutIntervalSeconds} s · ${LOOPS} request loops, ${num(sum.outcomes.reqPerSec)} req/s · ${sum.state ?? 'no final state'}`,
    bucketSeconds: BUCKET_MS / 1000,
    buckets: all.map((b) => ({ t: sec(b.startMs), width: sec(b.endMs) - sec(b.startMs), blue: b.blue, green: b.green, failed: b.failed })),
    configured: [{ t: sec(all[0]?.startMs ?? zero), pct: 0 }, ...changes.map((b) => ({ t: sec(b.atMs), pct: b.toPct }))],
    markers: changes.map((b) => ({ t: sec(b.atMs), label: `${b.toPct}%` })),
    judgements: sum.judgements.flatMap((j) => {
      const at = clientMs(run, j.at);
      return at === null ? [] : [{ t: sec(at), verdict: j.verdict }];
    }),
  };
}

/** The rollout-chart scenario (reuses the accuracy run when that scenario ran first). */
export const rolloutChart: Scenario = {
  id: 'rollout-chart',
  title: 'Rollout chart (SPEC 9.4)',
  goals: [],
  async run(s): Promise<ScenarioReport> {
    const data = await chartData(s);
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const svg = path.join(RESULTS_DIR, SVG_FILE);
    fs.writeFileSync(svg, renderRolloutSvg(data));
    const failed = data.buckets.reduce((n, b) => n + b.failed, 0);
    console.log(`  written: ${path.relative(process.cwd(), svg)}`);
    return {
      id: this.id,
      title: this.title,
      lines: [
        `![traffic share by colour during the rollout](${SVG_FILE})`,
        '',
        `\`bench/results/${SVG_FILE}\` (its data is in this scenario's JSON): the accuracy run's requests by send time in ${BUCKET_MS} ms buckets restarted at each step change ` +
          `(a remainder under half a bucket joins the one before), each bucket's share among requests answered 2xx (${num(failed)} not answered 2xx, left out), ` +
          'the configured green share dashed, a marker at each step change, and a badge at each judgement (pass, too few requests, fail).',
      ],
      goals: [],
      data: { file: SVG_FILE, chart: data },
    };
  },
};
