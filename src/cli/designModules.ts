/**
 * A user's own mlx5 ODP design on the command line: `--design ./my-design.ts` loads a
 * TypeScript or JavaScript module whose default export is an Mlx5OdpDesign, or a
 * function of no arguments returning one, and registers it for the run under the path
 * as the user named it. The module may also export `defects` (the ids its code asks
 * `k.hasDefect()` about, which `--defect` then accepts beside the catalog's defects of
 * the generation its `core` is).
 *
 * Models no kernel file. The registration carries a hash of the source, which replay
 * tokens record; a module that does not load or exports no design is a UsageError.
 */
import type { ScenarioRef } from "../check/scenarioRef.ts";
import { loadScenario } from "../check/scenarioRef.ts";
import type { Scenario } from "../check/scenario.ts";
import type { Mlx5OdpDesign } from "../rdma/mlx5/odp/mlx5OdpDesign.ts";
import type { WorkerSetup } from "../scenario/fuzz/campaignWorker.ts";
import { isDesignModulePath, registerMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";
import { importUserModule, moduleSourceHash, reason, stringList } from "./scenarioModules.ts";
import { UsageError } from "./usageError.ts";

/** The methods every Mlx5OdpDesign has (prefetchHold is optional). */
const METHODS = [
  "kernelSetup",
  "allocUcontext",
  "regOdpMr",
  "deregOdpMr",
  "pagefaultSingleDataSegment",
] as const;

/** Whether a `--design` value names a module rather than a built-in design. */
export const isDesignModule = isDesignModulePath;

/** Loads the design module at `path` and registers it under `path`; returns the name. */
export async function loadDesignModule(path: string): Promise<string> {
  const sourceHash = moduleSourceHash(path);
  const mod = await importUserModule(path);
  const defects = stringList(path, mod, "defects") ?? [];
  registerMlx5OdpDesign(path, { design: designOf(path, mod.default), defects, sourceHash });
  return path;
}

/** The default export as a design: itself, or what the factory returns. */
function designOf(path: string, value: unknown): Mlx5OdpDesign {
  let built = value;
  if (typeof value === "function") {
    try {
      built = (value as () => unknown)();
    } catch (error) {
      throw new UsageError(`${path}: the default export threw while building: ${reason(error)}`);
    }
  }
  const missing = designProblem(built);
  if (missing !== null) {
    throw new UsageError(
      `${path}: the default export is not an Mlx5OdpDesign (or a function returning one): ${missing}`,
    );
  }
  return built as Mlx5OdpDesign;
}

/** What an object lacks of an Mlx5OdpDesign, or null. */
function designProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "not an object";
  const d = value as Record<string, unknown>;
  const core = d.core as Record<string, unknown> | null | undefined;
  if (typeof core !== "object" || core === null || typeof core.name !== "string") {
    return "no core (a UmemOdpDesign, e.g. the built-in design's)";
  }
  const absent = METHODS.filter((m) => typeof d[m] !== "function");
  return absent.length === 0 ? null : `no ${absent.join(", ")}`;
}

/**
 * The ScenarioRef a worker thread finds `inner` through once it has registered the
 * design module at `design` too (this module's scenarioByName).
 */
export function withDesignModule(inner: ScenarioRef, design: string): ScenarioRef {
  return {
    module: new URL("./designModules.ts", import.meta.url).href,
    exportName: JSON.stringify({ design, inner }),
  };
}

/** What a fuzz worker thread runs to register the design module at `design` too. */
export function designModuleWorkerSetup(design: string): WorkerSetup {
  return {
    module: new URL("./designModules.ts", import.meta.url).href,
    exportName: "loadDesignModule",
    argument: design,
  };
}

/** For worker threads: `name` is the JSON of { design, inner }. */
export async function scenarioByName(name: string): Promise<Scenario> {
  const { design, inner } = JSON.parse(name) as { design: string; inner: ScenarioRef };
  await loadDesignModule(design);
  return loadScenario(inner);
}
