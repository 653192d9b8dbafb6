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

/**
 * Runs the search; `onProgress` hears the schedules run so far (of `schedulesOf(job)`),
 * from worker threads too.
 */
export async function searchExplore(
  job: ExploreJob,
  onProgress?: (schedulesRun: number) => void,
): Promise<ExploreResult> {
  const options = onProgress === undefined ? job.options : { ...job.options, onProgress };
  if (job.workers === 1 && job.shard === undefined) return explore(job.scenario, options);
  if (options.strategy === "dfs") {
    throw new UsageError("dfs is a sequential search: use one worker and no --shard");
  }
  return exploreParallel(scenarioRefOf(job.name, job.isFile), {
    ...options,
    workers: job.workers,
    ...(job.shard === undefined ? {} : { shard: job.shard }),
  });
}

/** The schedules this process runs at most: the budget, or its shard's share of it. */
export function schedulesOf(job: ExploreJob): number {
  const { schedules } = job.options;
  if (job.shard === undefined) return schedules;
  const { index, count } = job.shard;
  return Math.max(0, Math.ceil((schedules - (index - 1)) / count));
}

/** Where a worker thread finds the scenario: the catalog, or the scenario file. */
function scenarioRefOf(name: string, isFile: boolean): ScenarioRef {
  if (!isFile) {
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
