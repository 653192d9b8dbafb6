/**
 * The race report of each catalog entry as `odpsim explore SCENARIO --design D --defect
 * ID` prints it (the explore command's defaults: uniform random from seed 0, 20,000
 * schedules at most, the failure shrunk): what the report-size test and benchmarks
 * measure.
 *
 * Models no kernel file.
 */
import { entryDefects, type CatalogEntry } from "../check/catalog/catalog.ts";
import { explore } from "../check/explore.ts";
import type { RaceReport } from "../check/report.ts";
import { failureArtifacts } from "./failureArtifacts.ts";

/** The explore command's default search (src/cli/main.ts). */
export const EXPLORE_DEFAULTS = { strategy: "random", schedules: 20_000, seed: 0 } as const;

/** The shrunk race report of `entry`'s first failure; throws if the search finds none. */
export function catalogEntryReport(entry: CatalogEntry): RaceReport {
  const defects = entryDefects(entry);
  const found = explore(entry.scenario, { ...EXPLORE_DEFAULTS, design: entry.design, defects });
  const failure = found.firstFailure;
  if (failure === null)
    throw new Error(`${entry.id}: no failure in ${found.schedulesRun} schedules`);
  const failed = {
    scenario: entry.scenario,
    seed: failure.seed,
    timing: failure.timing,
    schedule: failure.schedule,
    strategy: EXPLORE_DEFAULTS.strategy,
    design: entry.design,
    defects,
  };
  return failureArtifacts(failed, null).raceReport;
}
