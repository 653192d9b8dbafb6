/**
 * The body of one exploration worker thread: import the scenario named in workerData,
 * report ready, wait for the go, explore this worker's partition of the indices, post
 * the summary back.
 *
 * Models no kernel file. Started by `exploreParallel` through a small bootstrap that
 * registers tsx first, since worker threads do not inherit the parent's loader.
 */
import { parentPort, workerData } from "node:worker_threads";
import { explore, type ExploreOptions, type Partition } from "./explore.ts";
import { loadScenario, type ScenarioRef } from "./scenarioRef.ts";
import { summarize } from "./summary.ts";

export interface WorkerInput {
  readonly ref: ScenarioRef;
  readonly options: ExploreOptions;
  readonly partition: Partition;
  readonly lowestFailure: Int32Array;
  /** Post the schedules run so far now and then (the parent draws progress). */
  readonly reportProgress: boolean;
}

/** Posts progress every this many schedules: often enough to draw, rarely enough to cost nothing. */
const PROGRESS_EVERY = 64;

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("exploreWorker.ts must run in a worker thread");
  const input = workerData as WorkerInput;
  const scenario = await loadScenario(input.ref);
  // Say ready, then wait for the go, so the parent can time the search alone.
  const go = new Promise((resolve) => port.once("message", resolve));
  port.postMessage({ type: "ready" });
  await go;
  const onProgress = (schedulesRun: number): void => {
    if (schedulesRun % PROGRESS_EVERY === 0) port.postMessage({ type: "progress", schedulesRun });
  };
  const result = explore(scenario, {
    ...input.options,
    partition: input.partition,
    lowestFailure: input.lowestFailure,
    ...(input.reportProgress ? { onProgress } : {}),
  });
  port.postMessage({ type: "done", summary: summarize(result) });
}

await main();
