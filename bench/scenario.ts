import type { BenchSettings } from './settings.js';
import type { ScenarioReport } from './report.js';

/** A benchmark scenario: what run.ts needs to run it and to report it even when it fails. */
export interface Scenario {
  id: string;
  title: string;
  /** Goal texts, so a scenario that could not run still lists them as not met. */
  goals: string[];
  /** Run it; throw only when nothing useful could be measured. */
  run(settings: BenchSettings): Promise<ScenarioReport>;
}

/** The report of a scenario that threw: its goals marked "not run". */
export function failedReport(scenario: Scenario, err: unknown): ScenarioReport {
  const error = err instanceof Error ? err.message : String(err);
  return {
    id: scenario.id,
    title: scenario.title,
    lines: [],
    goals: scenario.goals.map((text) => ({ text, actual: 'not run', met: false })),
    data: null,
    error,
  };
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
