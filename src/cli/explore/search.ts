/**
 * `odpsim explore`'s search step: one process and one thread runs the plain search;
 * otherwise worker threads and/or a shard, which find the scenario again through a
 * ScenarioRef.
 *
 * Models no kernel file.
 */
import { explore, type ExploreResult } from "../../check/explore.ts";
import { exploreParallel } from "../../check/parallel.ts";
import type { ScenarioRef } from "../../check/scenarioRef.ts";
import { resolve } from "node:path";
import { UsageError } from "../usageError.ts";
import type { ExploreJob } from "./resolve.ts";

export async function searchExplore(job: ExploreJob): Promise<ExploreResult> {
  const { options } = job;
  if (job.workers === 1 && job.shard === undefined) return explore(job.scenario, options);
  if (options.strategy === "dfs") {
    throw new UsageError("dfs is a sequential search: use one worker and no --shard");
  }
  return exploreParallel(scenarioRefOf(job), {
    ...options,
    workers: job.workers,
    ...(job.shard === undefined ? {} : { shard: job.shard }),
  });
}

/** Where a worker thread finds the scenario: the catalog, the scenario file, the module. */
function scenarioRefOf(job: ExploreJob): ScenarioRef {
  const name = job.name;
  if (job.source === "module") {
    const { design, defects } = job.options;
    return {
      module: new URL("../scenarioModules.ts", import.meta.url).href,
      exportName: JSON.stringify({ path: resolve(name), design, defects }),
    };
  }
  if (!job.isFile) {
    return {
      module: new URL("../../check/catalog/catalog.ts", import.meta.url).href,
      exportName: name,
    };
  }
  return {
    module: new URL("../scenarioFiles.ts", import.meta.url).href,
    exportName: resolve(name),
  };
}
