/**
 * `odpsim explore`'s search step: with one worker, this thread runs the search or its
 * shard's part of it; otherwise worker threads, which find the scenario again through a
 * ScenarioRef.
 *
 * Models no kernel file.
 */
import { explore, type ExploreResult } from "../../check/explore.ts";
import { exploreParallel } from "../../check/parallel.ts";
import type { ScenarioRef } from "../../check/scenarioRef.ts";
import { workerPartition } from "../../check/shard.ts";
import { resolve } from "node:path";
import { UsageError } from "../usageError.ts";
import type { ExploreJob } from "./resolve.ts";

export async function searchExplore(job: ExploreJob): Promise<ExploreResult> {
  const { options, shard } = job;
  if (options.strategy === "dfs" && (shard !== undefined || job.workers > 1)) {
    throw new UsageError("dfs is a sequential search: use one worker and no --shard");
  }
  // One worker: this thread runs the shard's indices itself, sparing a thread start.
  if (job.workers === 1) {
    if (shard === undefined) return explore(job.scenario, options);
    return explore(job.scenario, { ...options, partition: workerPartition(shard, 1, 0) });
  }
  return exploreParallel(scenarioRefOf(job), {
    ...options,
    workers: job.workers,
    ...(shard === undefined ? {} : { shard }),
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
