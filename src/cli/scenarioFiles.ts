/**
 * Scenario files as a registry a worker thread can import: `scenarioByName(path)`
 * compiles the YAML file at `path`, so `--workers` and `--shard` work for scenario
 * files as they do for the catalog (see ScenarioRef).
 *
 * Models no kernel file.
 */
import type { Scenario } from "../check/scenario.ts";
import { loadScenario } from "../scenario/compile.ts";

export function scenarioByName(path: string): Scenario {
  return loadScenario(path);
}
