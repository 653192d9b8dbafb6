/**
 * The part of an exploration's result that crosses process and thread boundaries (a
 * worker's answer, a shard's JSON), and how such parts merge.
 *
 * Models no kernel file. Summaries carry only plain data: the failing index, its seed
 * and schedule, the violation's kind and message, the internal error, the indices of
 * inconclusive runs. Whoever merges them replays the lowest failing index to get the
 * full run back, so nothing with functions or cycles has to be cloned.
 *
 * Merging gives the answer one sequential search would give, whatever the split: the
 * search stops at its lowest stopping index (a failure or an internal error), and every
 * index below it was run by some part, so the merged answer is that index's outcome,
 * and what the parts saw above it (which a sequential search never reaches) is dropped.
 */
import type { ExploreInternalError, ExploreResult, StrategyName } from "./explore.ts";
import type { Timing } from "../sim/timing.ts";
import { verdictOf, type Verdict } from "./verdict.ts";

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
  readonly timing: Timing;
  readonly verdict: Verdict;
  readonly schedulesRun: number;
  readonly failingIndices: readonly number[];
  /** Aligned with failingIndices: each one's first violation kind. */
  readonly failingKinds: readonly string[];
  /** Aligned with failingIndices: each one's first violation message. */
  readonly failingMessages: readonly string[];
  readonly firstFailure: FailureSummary | null;
  readonly firstInternalError: ExploreInternalError | null;
  readonly inconclusiveIndices: readonly number[];
  readonly maxSteps: number;
  readonly pctChoices?: number;
}

export function summarize(result: ExploreResult): ExploreSummary {
  const f = result.firstFailure;
  return {
    scenario: result.scenario,
    strategy: result.strategy,
    seed: result.seed,
    timing: result.timing,
    verdict: result.verdict,
    schedulesRun: result.schedulesRun,
    failingIndices: result.failingIndices,
    failingKinds: result.failingKinds,
    failingMessages: result.failingMessages,
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
    inconclusiveIndices: result.inconclusiveIndices,
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

function checkSameSearch(parts: readonly ExploreSummary[]): ExploreSummary {
  const first = parts[0];
  if (first === undefined) throw new Error("mergeSummaries needs at least one summary");
  for (const p of parts) {
    if (
      p.scenario !== first.scenario ||
      p.strategy !== first.strategy ||
      p.seed !== first.seed ||
      p.timing !== first.timing
    ) {
      throw new Error(
        `cannot merge ${p.scenario}/${p.strategy}/seed ${p.seed}/${p.timing} with ` +
          `${first.scenario}/${first.strategy}/seed ${first.seed}/${first.timing}`,
      );
    }
  }
  return first;
}

/**
 * Merges the summaries of disjoint parts of one search (workers, shards) into the
 * sequential search's answer. `stopAtFirst` says whether the search stopped at its
 * first failure (an internal error always stops it).
 */
export function mergeSummaries(
  parts: readonly ExploreSummary[],
  stopAtFirst = true,
): ExploreSummary {
  const first = checkSameSearch(parts);
  let failure = lowest(parts.map((p) => p.firstFailure));
  let error = lowest(parts.map((p) => p.firstInternalError));
  const stopAt = Math.min(
    error?.index ?? Infinity,
    stopAtFirst ? (failure?.index ?? Infinity) : Infinity,
  );
  if (failure !== null && failure.index > stopAt) failure = null;
  if (error !== null && error.index > stopAt) error = null;
  const below = (i: number) => i <= stopAt;
  const failing = parts
    .flatMap((p) =>
      p.failingIndices.map((index, i) => ({
        index,
        kind: p.failingKinds[i] ?? "",
        message: p.failingMessages[i] ?? "",
      })),
    )
    .filter((f) => below(f.index))
    .sort((a, b) => a.index - b.index);
  const inconclusive = parts.flatMap((p) => p.inconclusiveIndices).filter(below);
  return {
    scenario: first.scenario,
    strategy: first.strategy,
    seed: first.seed,
    timing: first.timing,
    verdict: verdictOf({
      internalError: error !== null,
      violation: failure !== null,
      inconclusive: inconclusive.length > 0,
    }),
    schedulesRun: parts.reduce((n, p) => n + p.schedulesRun, 0),
    failingIndices: failing.map((f) => f.index),
    failingKinds: failing.map((f) => f.kind),
    failingMessages: failing.map((f) => f.message),
    firstFailure: failure,
    firstInternalError: error,
    inconclusiveIndices: inconclusive.sort((a, b) => a - b),
    maxSteps: Math.max(...parts.map((p) => p.maxSteps)),
    ...(first.pctChoices === undefined ? {} : { pctChoices: first.pctChoices }),
  };
}
