/**
 * Parallel and sharded exploration: `--workers N` runs one search on N worker threads,
 * `--shard k/n` runs one n-th of it (a cluster job array runs the other shards).
 *
 * Models no kernel file. The partition is fixed by index, never by timing: shard k owns
 * the indices i with i mod n = k-1, and worker w of W takes the j-th index of its shard
 * when j mod W = w. Every index is run with the same seed and strategy parameters
 * wherever it runs (PCT's k is measured once, here, and handed to every worker), so the
 * set of failing indices and the lowest one do not depend on the worker count. When
 * stopping at the first failure, workers share the lowest failing index found so far
 * and skip indices above it, which cannot change the lowest.
 *
 * Worker threads do not inherit tsx from the parent (Node 20), so each worker starts
 * from a two-line bootstrap that registers tsx's loader and then imports
 * exploreWorker.ts.
 */
import { Worker } from "node:worker_threads";
import {
  estimatePctChoices,
  explore,
  exploreTiming,
  newLowestFailureCell,
  type ExploreFailure,
  type ExploreOptions,
  type ExploreResult,
} from "./explore.ts";
import type { WorkerInput } from "./exploreWorker.ts";
import { replayRecorded } from "./replay.ts";
import { runSettingsOf, type Scenario } from "./scenario.ts";
import { loadScenario, type ScenarioRef } from "./scenarioRef.ts";
import { workerPartition, type Shard } from "./shard.ts";
import { mergeSummaries, type ExploreSummary } from "./summary.ts";

export interface ParallelOptions extends Omit<ExploreOptions, "partition" | "lowestFailure"> {
  /** Worker threads. Default 1. */
  readonly workers?: number;
  /** This process's shard. Default 1/1. */
  readonly shard?: Shard;
}

export interface ParallelResult extends ExploreResult {
  readonly workers: number;
  readonly shard: Shard;
  /** Wall-clock milliseconds: starting the workers, then the search itself. */
  readonly wallClock: { readonly startupMs: number; readonly searchMs: number };
}

const WORKER_URL = new URL("./exploreWorker.ts", import.meta.url).href;

function bootstrap(): string {
  const tsx = import.meta.resolve("tsx/esm/api");
  return (
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); ` +
    `return import(${JSON.stringify(WORKER_URL)}); });`
  );
}

interface StartedWorker {
  /** Settles once the worker has imported the scenario. */
  readonly ready: Promise<void>;
  /** Starts the search; settles with the worker's summary. */
  go(): Promise<ExploreSummary>;
}

type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "progress"; readonly schedulesRun: number }
  | { readonly type: "done"; readonly summary: ExploreSummary };

/**
 * Starts a worker that loads its scenario, says "ready" and waits for "go", so the
 * search can be timed apart from thread start-up and module loading.
 */
function startWorker(
  input: WorkerInput,
  onProgress: (schedulesRun: number) => void,
): StartedWorker {
  const worker = new Worker(bootstrap(), { eval: true, workerData: input });
  let ready!: () => void;
  let done!: (s: ExploreSummary) => void;
  let fail!: (e: Error) => void;
  const readyP = new Promise<void>((res) => (ready = res));
  const doneP = new Promise<ExploreSummary>((res, rej) => {
    done = res;
    fail = rej;
  });
  let answered = false;
  worker.on("message", (m: WorkerMessage) => {
    if (m.type === "ready") ready();
    else if (m.type === "progress") onProgress(m.schedulesRun);
    else {
      answered = true;
      done(m.summary);
    }
  });
  worker.on("error", (e) => {
    fail(e);
    ready();
  });
  worker.on("exit", (code) => {
    if (!answered) fail(new Error(`exploration worker exited with code ${code} and no result`));
    ready();
  });
  return {
    ready: readyP,
    go: () => {
      worker.postMessage("go");
      return doneP;
    },
  };
}

/** Rebuilds the full failure of a merged summary by replaying it here. */
function rebuildFailure(
  scenario: Scenario,
  options: ParallelOptions,
  summary: ExploreSummary,
): ExploreFailure | null {
  const f = summary.firstFailure;
  if (f === null) return null;
  const run = replayRecorded(
    scenario,
    {
      seed: f.seed,
      schedule: f.schedule,
      ...runSettingsOf(options),
      timing: exploreTiming(options),
    },
    false,
  );
  const violation = run.violations[0];
  if (violation?.kind !== f.kind || run.divergence >= 0) {
    throw new Error(`failing index ${f.index} did not reproduce in the main thread`);
  }
  return {
    index: f.index,
    seed: f.seed,
    timing: exploreTiming(options),
    schedule: run.result.schedule,
    violation,
    violations: run.violations,
    result: run.result,
  };
}

/** Explores this shard of the search on `workers` threads and merges the results. */
export async function exploreParallel(
  ref: ScenarioRef,
  options: ParallelOptions,
): Promise<ParallelResult> {
  const workers = options.workers ?? 1;
  const shard = options.shard ?? { index: 1, count: 1 };
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be an integer >= 1, got ${workers}`);
  }
  const scenario = await loadScenario(ref);
  // A function does not cross to a worker thread: workers post their counts instead.
  const { onProgress, ...base } = options;
  if (options.strategy === "dfs") {
    if (workers > 1 || shard.count > 1) {
      throw new RangeError("dfs is a sequential search: use one worker and no --shard");
    }
    const t0 = performance.now();
    const result = explore(scenario, options);
    return {
      ...result,
      workers,
      shard,
      wallClock: { startupMs: 0, searchMs: performance.now() - t0 },
    };
  }
  const pctChoices =
    options.strategy === "random"
      ? undefined
      : (options.pctChoices ?? estimatePctChoices(scenario, options));
  const shared: ExploreOptions = { ...base, ...(pctChoices === undefined ? {} : { pctChoices }) };
  const lowestFailure = newLowestFailureCell();
  const t0 = performance.now();
  const runs = new Array<number>(workers).fill(0);
  const started = Array.from({ length: workers }, (_, w) =>
    startWorker(
      {
        ref,
        options: shared,
        partition: workerPartition(shard, workers, w),
        lowestFailure,
        reportProgress: onProgress !== undefined,
      },
      (schedulesRun) => {
        runs[w] = schedulesRun;
        onProgress?.(runs.reduce((a, b) => a + b, 0));
      },
    ),
  );
  await Promise.all(started.map((w) => w.ready));
  const t1 = performance.now();
  const parts = await Promise.all(started.map((w) => w.go()));
  const wallClock = { startupMs: t1 - t0, searchMs: performance.now() - t1 };
  const stopAtFirst = options.stopAtFirst ?? true;
  const merged = mergeSummaries(parts, stopAtFirst);
  const firstFailure = rebuildFailure(scenario, options, merged);
  return {
    scenario: merged.scenario,
    strategy: merged.strategy,
    seed: merged.seed,
    timing: merged.timing,
    verdict: merged.verdict,
    found: firstFailure !== null,
    schedulesRun: merged.schedulesRun,
    schedulesToFind: firstFailure === null ? null : firstFailure.index + 1,
    firstFailure,
    // When stopping early, failures above the lowest depend on timing: keep the lowest.
    failingIndices:
      stopAtFirst && firstFailure !== null ? [firstFailure.index] : merged.failingIndices,
    failingKinds:
      stopAtFirst && firstFailure !== null ? [firstFailure.violation.kind] : merged.failingKinds,
    failingMessages:
      stopAtFirst && firstFailure !== null
        ? [firstFailure.violation.message]
        : merged.failingMessages,
    firstInternalError: merged.firstInternalError,
    inconclusiveIndices: merged.inconclusiveIndices,
    maxSteps: merged.maxSteps,
    ...(pctChoices === undefined ? {} : { pctChoices }),
    workers,
    shard,
    wallClock,
  };
}
