/**
 * Naming a scenario by where it lives, so a worker thread (or another process) can
 * import it: a module (file URL or absolute path) and the name of the export.
 *
 * Models no kernel file.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { Scenario } from "./scenario.ts";

export interface ScenarioRef {
  /** A file: URL, or an absolute path, of a module that exports the scenario. */
  readonly module: string;
  /** The name of the export, a `Scenario` object. */
  readonly exportName: string;
}

/** The module as an importable URL. */
export function moduleUrl(ref: ScenarioRef): string {
  if (ref.module.startsWith("file:")) return ref.module;
  if (isAbsolute(ref.module)) return pathToFileURL(ref.module).href;
  throw new Error(`scenario module must be a file: URL or an absolute path, got ${ref.module}`);
}

function isScenario(value: unknown): value is Scenario {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<Scenario>;
  return typeof s.name === "string" && typeof s.build === "function";
}

/**
 * Imports the scenario. A module may instead export `scenarioByName(name)` (a registry
 * such as the catalog, or a promise of one for a user's module); then `exportName` is
 * looked up through it.
 */
export async function loadScenario(ref: ScenarioRef): Promise<Scenario> {
  const mod = (await import(moduleUrl(ref))) as Record<string, unknown>;
  const registry = mod.scenarioByName;
  const value =
    typeof registry === "function" && !(ref.exportName in mod)
      ? await (registry as (name: string) => unknown)(ref.exportName)
      : mod[ref.exportName];
  if (!isScenario(value)) {
    throw new Error(`${ref.module} has no Scenario export named ${ref.exportName}`);
  }
  return value;
}
