/**
 * The part of an exploration's result that crosses process and thread boundaries (a
 * worker's answer, a shard's JSON), and how such parts merge.
 *
 * Models no kernel file. Summaries carry only plain data: the failing index, its seed
 * and schedule, the violation's kind and message. Whoever merges them replays the
 * lowest failing index to get the full run back, so nothing with functions or cycles
 * has to be cloned. Merging takes the lowest failing index, which is why the merged
 * result does not depend on how the indices were split.
 */
import type { ExploreInternalError, ExploreResult, StrategyName } from "./explore.ts";

export interface FailureSummary {
  readonly index: number;
  readonly seed: number;
  readonly schedule: readonly number[];
  readonly kind: string;
  readonly message: string;
}

export interface ExploreSummary {
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly schedulesRun: number;
  readonly failingIndices: readonly number[];
  readonly firstFailure: FailureSummary | null;
  readonly firstInternalError: ExploreInternalError | null;
  readonly maxSteps: number;
  readonly pctChoices?: number;
}

export function summarize(result: ExploreResult): ExploreSummary {
  const f = result.firstFailure;
  return {
    scenario: result.scenario,
    strategy: result.strategy,
    seed: result.seed,
    schedulesRun: result.schedulesRun,
    failingIndices: result.failingIndices,
    firstFailure:
      f === null
        ? null
        : {
            index: f.index,
            seed: f.seed,
            schedule: Array.from(f.schedule),
            kind: f.violation.kind,
            message: f.violation.message,
          },
    firstInternalError: result.firstInternalError,
    maxSteps: result.maxSteps,
    ...(result.pctChoices === undefined ? {} : { pctChoices: result.pctChoices }),
  };
}

function lowest<T extends { readonly index: number }>(items: readonly (T | null)[]): T | null {
  let best: T | null = null;
  for (const item of items)
    if (item !== null && (best === null || item.index < best.index)) best = item;
  return best;
}

/**
 * Merges the summaries of disjoint parts of one search (workers, shards): the lowest
 * failing index wins; failing indices are united; runs add up.
 */
export function mergeSummaries(parts: readonly ExploreSummary[]): ExploreSummary {
  const first = parts[0];
  if (first === undefined) throw new Error("mergeSummaries needs at least one summary");
  for (const p of parts) {
    if (p.scenario !== first.scenario || p.strategy !== first.strategy || p.seed !== first.seed) {
      throw new Error(
        `cannot merge ${p.scenario}/${p.strategy}/seed ${p.seed} with ` +
          `${first.scenario}/${first.strategy}/seed ${first.seed}`,
      );
    }
  }
  const failing = parts.flatMap((p) => p.failingIndices).sort((a, b) => a - b);
  const failure = lowest(parts.map((p) => p.firstFailure));
  // With early stops, a part may have recorded failures above another part's first one.
  return {
    scenario: first.scenario,
    strategy: first.strategy,
    seed: first.seed,
    schedulesRun: parts.reduce((n, p) => n + p.schedulesRun, 0),
    failingIndices: failing,
    firstFailure: failure,
    firstInternalError: lowest(parts.map((p) => p.firstInternalError)),
    maxSteps: Math.max(...parts.map((p) => p.maxSteps)),
    ...(first.pctChoices === undefined ? {} : { pctChoices: first.pctChoices }),
  };
}
