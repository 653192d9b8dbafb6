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
import { userMlx5OdpDesign } from "../../rdma/mlx5/odp/designs.ts";
import { withDesignModule } from "../designModules.ts";
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
  const { shard } = job;
  const options = onProgress === undefined ? job.options : { ...job.options, onProgress };
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

/** The schedules this process runs at most: the budget, or its shard's share of it. */
export function schedulesOf(job: ExploreJob): number {
  const { schedules } = job.options;
  if (job.shard === undefined) return schedules;
  const { index, count } = job.shard;
  return Math.max(0, Math.ceil((schedules - (index - 1)) / count));
}

/**
 * Where a worker thread finds the scenario: the catalog, the scenario file, the module;
 * behind the design module first, when the run's design is a user's.
 */
function scenarioRefOf(job: ExploreJob): ScenarioRef {
  const ref = ownScenarioRef(job);
  const { design } = job.options;
  if (job.source === "module" || userMlx5OdpDesign(design) === undefined) return ref;
  return withDesignModule(ref, design);
}

function ownScenarioRef(job: ExploreJob): ScenarioRef {
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
