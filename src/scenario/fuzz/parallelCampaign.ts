/**
 * `odpsim fuzz --workers N --shard k/n`: one campaign split over worker threads and
 * cluster shards by program index.
 *
 * Models no kernel file. Shard k of n owns the program indices i with i mod n = k-1,
 * and worker w of W its j-th index when j mod W = w (check/shard.ts), so every index is
 * drawn and run the same wherever it runs, and the result is the lowest failing index
 * over the workers: under a program budget, the same first failure whatever the worker
 * count. One worker runs in this thread; more start worker threads from a bootstrap that
 * registers tsx, as the explorer's do, and each runs `workerSetup` first (a user's design
 * module registered again: worker threads share no module state with the parent).
 * With `keepGoing` no index is skipped: every worker runs its whole partition and lists
 * its failures by key (soak.ts), and the lists merge into the one a single campaign
 * gives, whose lowest failure is the result's `failure`.
 */
import { Worker } from "node:worker_threads";
import { workerPartition, type Shard } from "../../check/shard.ts";
import { runCampaign, type CampaignOptions, type CampaignResult } from "./campaign.ts";
import type { CampaignWorkerInput, WorkerSetup } from "./campaignWorker.ts";
import { FailureKeys, mergeKeys, type SoakKey } from "./soak.ts";

export interface ParallelCampaignOptions extends Omit<
  CampaignOptions,
  "shouldStop" | "onProgram" | "lowestFailure" | "partition"
> {
  readonly workers: number;
  readonly shard: Shard;
  /** Wall-clock deadline (ms since the epoch), or null for a program budget. */
  readonly deadline: number | null;
  /** Called now and then with the programs run so far by every worker. */
  readonly onProgress?: (programsRun: number) => void;
  /** What each worker thread runs before its campaign (not run in this thread). */
  readonly workerSetup?: WorkerSetup;
  /** Go on after each failure and list them all by key (`odpsim fuzz --keep-going`). */
  readonly keepGoing?: boolean;
}

export interface ParallelCampaignResult extends CampaignResult {
  /** With `keepGoing`: every failure's key, by first program; otherwise null. */
  readonly keys: readonly SoakKey[] | null;
}

const WORKER_URL = new URL("./campaignWorker.ts", import.meta.url).href;
const NO_FAILURE = 0x7fffffff;

function bootstrap(): string {
  const tsx = import.meta.resolve("tsx/esm/api");
  return (
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); ` +
    `return import(${JSON.stringify(WORKER_URL)}); });`
  );
}

function sharedCell(value: number): Int32Array {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  cell[0] = value;
  return cell;
}

function startWorker(input: CampaignWorkerInput): Promise<ParallelCampaignResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(bootstrap(), { eval: true, workerData: input });
    worker.once("message", (r: ParallelCampaignResult) => {
      resolve(r);
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`fuzz worker exited with code ${code}`));
    });
  });
}

export async function runCampaignParallel(
  o: ParallelCampaignOptions,
): Promise<ParallelCampaignResult> {
  const { workers, shard, deadline, onProgress, workerSetup, keepGoing = false, ...options } = o;
  if (workers <= 1) {
    const keys = keepGoing ? new FailureKeys() : null;
    const r = runCampaign({
      ...options,
      partition: workerPartition(shard, 1, 0),
      ...(deadline === null ? {} : { shouldStop: () => Date.now() >= deadline }),
      ...(onProgress === undefined ? {} : { onProgram: onProgress }),
      ...(keys === null ? {} : { onFailure: keys.onFailure, alreadyShrunk: keys.alreadyShrunk }),
    });
    return keys === null ? { ...r, keys: null } : withKeys(r, keys.keys());
  }
  const lowestFailure = sharedCell(NO_FAILURE);
  const programsRun = sharedCell(0);
  const timer =
    onProgress === undefined
      ? null
      : setInterval(() => {
          onProgress(Atomics.load(programsRun, 0));
        }, 250);
  try {
    const results = await Promise.all(
      Array.from({ length: workers }, (_, w) =>
        startWorker({
          options,
          partition: workerPartition(shard, workers, w),
          deadline,
          lowestFailure,
          programsRun,
          setup: workerSetup ?? null,
          keepGoing,
        }),
      ),
    );
    return mergeResults(results);
  } finally {
    if (timer !== null) clearInterval(timer);
  }
}

/** A keep-going campaign's result: its failure is the lowest key's first. */
export function withKeys(r: CampaignResult, keys: readonly SoakKey[]): ParallelCampaignResult {
  return { ...r, failure: keys[0]?.first ?? null, keys };
}

/**
 * The workers' tallies summed; the failure of the lowest program index, and with
 * keep-going their keys merged.
 */
export function mergeResults(
  results: readonly (CampaignResult & { readonly keys?: readonly SoakKey[] | null })[],
): ParallelCampaignResult {
  const lists = results.flatMap((r) => (r.keys === undefined || r.keys === null ? [] : [r.keys]));
  const merged = mergeTallies(results);
  return lists.length === 0 ? { ...merged, keys: null } : withKeys(merged, mergeKeys(lists));
}

function mergeTallies(results: readonly CampaignResult[]): CampaignResult {
  const failures = results.flatMap((r) => (r.failure === null ? [] : [r.failure]));
  const lowest = failures.reduce<(typeof failures)[number] | null>(
    (best, f) => (best === null || f.program < best.program ? f : best),
    null,
  );
  const sum = (f: (r: CampaignResult) => number) => results.reduce((n, r) => n + f(r), 0);
  return {
    programsRun: sum((r) => r.programsRun),
    schedulesRun: sum((r) => r.schedulesRun),
    programOnly: sum((r) => r.programOnly),
    inconclusiveRuns: sum((r) => r.inconclusiveRuns),
    reached: Math.max(0, ...results.map((r) => r.reached)),
    failure: lowest,
  };
}
