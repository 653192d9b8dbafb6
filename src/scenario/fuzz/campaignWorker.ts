/**
 * The body of one fuzz worker thread: run this worker's partition of the campaign's
 * program indices and post the result back.
 *
 * Models no kernel file. Started by `runCampaignParallel` through a bootstrap that
 * registers tsx first (worker threads do not inherit the parent's loader). The shared
 * cell holds the lowest failing program index any worker has found; indices above it
 * are skipped, which cannot change the lowest.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Partition } from "../../check/explore.ts";
import { runCampaign, type CampaignOptions } from "./campaign.ts";

export interface CampaignWorkerInput {
  readonly options: Omit<
    CampaignOptions,
    "shouldStop" | "onProgram" | "lowestFailure" | "partition"
  >;
  readonly partition: Partition;
  /** Wall-clock deadline (ms since the epoch), or null for a program budget. */
  readonly deadline: number | null;
  readonly lowestFailure: Int32Array;
  /** Programs run by every worker so far (progress). */
  readonly programsRun: Int32Array;
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error("campaignWorker.ts must run in a worker thread");
  const input = workerData as CampaignWorkerInput;
  const { deadline } = input;
  const result = runCampaign({
    ...input.options,
    partition: input.partition,
    ...(deadline === null ? {} : { shouldStop: () => Date.now() >= deadline }),
    lowestFailure: () => Atomics.load(input.lowestFailure, 0),
    onProgram: () => Atomics.add(input.programsRun, 0, 1),
  });
  if (result.failure !== null) lowerTo(input.lowestFailure, result.failure.program);
  port.postMessage(result);
}

/** Lowers slot 0 of `cell` to `value` unless another worker put a lower one there. */
function lowerTo(cell: Int32Array, value: number): void {
  for (;;) {
    const now = Atomics.load(cell, 0);
    if (now <= value || Atomics.compareExchange(cell, 0, now, value) === now) return;
  }
}

main();
