/**
 * `npm run bench`: run each scenario in turn (each starts and stops its own child processes),
 * print the report, write bench/results/. Exits non-zero only when a scenario failed to run;
 * a missed goal is reported, not fatal.
 */
import path from 'node:path';
import { fleet } from './fleet.js';
import { manyClients } from './many-clients.js';
import { overhead } from './overhead.js';
import { reloadLatency } from './reload-latency.js';
import { rolloutAccuracy } from './rollout-accuracy.js';
import { rolloutChart } from './rollout-chart.js';
import { soak } from './soak.js';
import { installCleanup } from './processes.js';
import { renderReport, writeResults, type ScenarioReport } from './report.js';
import { http2 } from './http2.js';
import { failedReport, type Scenario } from './scenario.js';
import { describeRun, readSettings } from './settings.js';
import { switchLatency } from './switch-latency.js';
import { targetKill } from './target-kill.js';
import { workers } from './workers.js';

const SCENARIOS: Scenario[] = [overhead, workers, http2, switchLatency, fleet, manyClients, targetKill, rolloutAccuracy, rolloutChart, reloadLatency, soak];

/** Run one scenario, turning a throw into a failed report so the others still run. */
async function runScenario(scenario: Scenario, settings: ReturnType<typeof readSettings>): Promise<ScenarioReport> {
  console.log(`▶ ${scenario.title}`);
  try {
    return await scenario.run(settings);
  } catch (err) {
    console.log(`  failed: ${err instanceof Error ? err.message : String(err)}`);
    return failedReport(scenario, err);
  }
}

async function main(): Promise<number> {
  installCleanup();
  const settings = readSettings();
  const meta = describeRun(settings);
  const selected = SCENARIOS.filter((s) => settings.scenarios === null || settings.scenarios.includes(s.id));
  const reports: ScenarioReport[] = [];
  for (const scenario of selected) reports.push(await runScenario(scenario, settings));
  const markdown = renderReport(meta, reports);
  console.log('\n' + markdown);
  const files = writeResults(meta, reports, markdown);
  console.log(`written: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  return reports.some((r) => r.error !== undefined) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
