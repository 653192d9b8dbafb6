/**
 * Where each catalog scenario can be imported from, for worker threads: the catalog
 * module itself, whose `scenarioByName` resolves the name.
 *
 * Models no kernel file.
 */
import type { Scenario } from "../scenario.ts";
import type { ScenarioRef } from "../scenarioRef.ts";

const CATALOG_MODULE = new URL("./catalog.ts", import.meta.url).href;

/** The (module, name) of a catalog scenario. */
export function catalogScenarioRef(scenario: Scenario): ScenarioRef {
  return { module: CATALOG_MODULE, exportName: scenario.name };
}
