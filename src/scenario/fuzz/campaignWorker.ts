/**
 * The body of one fuzz worker thread: run this worker's partition of the campaign's
 * program indices and post the result back.
 *
 * Models no kernel file. Started by `runCampaignParallel` through a bootstrap that
 * registers tsx first (worker threads do not inherit the parent's loader). The shared
 * cell holds the lowest failing program index any worker has found; indices above it
 * are skipped, which cannot change the lowest (not with keep-going, which runs every
 * index and posts its failures by key). A `setup` (a user's design module to
 * register: src/cli/designModules.ts) runs before the campaign, as it did in the parent.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Partition } from "../../check/explore.ts";
import { runCampaign, type CampaignOptions } from "./campaign.ts";
import { FailureKeys } from "./soak.ts";

/**
 * What a worker calls before its campaign: `module`'s export `exportName`, a function of
 * `argument` (the parent ran the same to register a user's design).
 */
export interface WorkerSetup {
  readonly module: string;
  readonly exportName: string;
  readonly argument: string;
}

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
  readonly setup: WorkerSetup | null;
  /** Run the whole partition and post every failure by key (soak.ts). */
  readonly keepGoing: boolean;
}

async function runSetup(setup: WorkerSetup | null): Promise<void> {
  if (setup === null) return;
  const mod = (await import(setup.module)) as Record<string, unknown>;
  const fn = mod[setup.exportName];
  if (typeof fn !== "function") throw new Error(`${setup.module} has no ${setup.exportName}`);
  await (fn as (argument: string) => unknown)(setup.argument);
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("campaignWorker.ts must run in a worker thread");
  const input = workerData as CampaignWorkerInput;
  await runSetup(input.setup);
  const { deadline } = input;
  const keys = input.keepGoing ? new FailureKeys() : null;
  const result = runCampaign({
    ...input.options,
    partition: input.partition,
    ...(deadline === null ? {} : { shouldStop: () => Date.now() >= deadline }),
    onProgram: () => Atomics.add(input.programsRun, 0, 1),
    ...(keys === null
      ? { lowestFailure: () => Atomics.load(input.lowestFailure, 0) }
      : { onFailure: keys.onFailure, alreadyShrunk: keys.alreadyShrunk }),
  });
  if (result.failure !== null) lowerTo(input.lowestFailure, result.failure.program);
  port.postMessage({ ...result, keys: keys?.keys() ?? null });
}

/** Lowers slot 0 of `cell` to `value` unless another worker put a lower one there. */
function lowerTo(cell: Int32Array, value: number): void {
  for (;;) {
    const now = Atomics.load(cell, 0);
    if (now <= value || Atomics.compareExchange(cell, 0, now, value) === now) return;
  }
}

await main();
