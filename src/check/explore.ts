/**
 * The explorer: runs many schedules of a scenario under one search strategy and
 * reports the first that breaks an invariant.
 *
 * Models no kernel file. Schedule i of a random or PCT search runs with seed
 * `seedFor(S, i)` = S + i, so any failing index can be rerun alone, and a partition
 * of the indices (shards, workers) finds exactly the failures one process finds.
 * PCT needs k, the expected step count: it is measured before the search by a few
 * calibration runs under uniform random scheduling and then fixed for every index, so
 * that no run's parameters depend on which other indices the same process ran. DFS
 * runs every schedule with seed S and is inherently sequential; by default it prunes
 * with sleep sets (see strategies/dfs.ts), which only bite on tasks that declare
 * their footprints.
 */
import type { Kernel, RunResult } from "../sim/kernel.ts";
import { UniformRandom } from "../sim/strategies/uniformRandom.ts";
import type { Strategy } from "../sim/strategy.ts";
import type { InternalError, Violation } from "../sim/violation.ts";
import type { FaultPlan } from "./faults.ts";
import { primaryViolation, runScenario, type Scenario, type ScenarioContext } from "./scenario.ts";
import { DfsSearch, runTruncated } from "./strategies/dfs.ts";
import { PCT_DEFAULT_DEPTH, Pct } from "./strategies/pct.ts";
import { Recording } from "./strategies/recording.ts";

export type StrategyName = "random" | "pct" | "dfs";

export type DfsReduction = "sleep-sets" | "none";

export const STRATEGY_NAMES: readonly StrategyName[] = ["random", "pct", "dfs"];

/** The indices i with i % modulus === residue: a shard, or one worker's part of it. */
export interface Partition {
  readonly modulus: number;
  readonly residue: number;
}

export interface ExploreOptions {
  /** Default "pct". */
  readonly strategy?: StrategyName;
  /** Schedule indices 0..schedules-1 are explored (DFS: at most this many runs). */
  readonly schedules: number;
  /** Base seed S. Default 0. */
  readonly seed?: number;
  /** PCT depth d. Default 3. */
  readonly pctDepth?: number;
  /** PCT's k; default: measured by calibration runs. */
  readonly pctChoices?: number;
  /** DFS preemption bound. Default 2. */
  readonly preemptionBound?: number;
  /** DFS partial-order reduction: "sleep-sets" (default) or "none". */
  readonly reduction?: DfsReduction;
  /** Stop at the first failing index. Default true. */
  readonly stopAtFirst?: boolean;
  readonly design?: string;
  readonly defects?: readonly string[];
  /** Fault injection: the plan every run is built with (see faults.ts). */
  readonly faults?: FaultPlan;
  /** Only explore these indices (random and PCT). Default: all. */
  readonly partition?: Partition;
  /**
   * Shared with other workers: slot 0 holds the lowest failing index any of them has
   * found; indices above it are skipped when stopping at the first failure.
   */
  readonly lowestFailure?: Int32Array;
}

export interface ExploreFailure {
  readonly index: number;
  readonly seed: number;
  readonly schedule: Uint32Array;
  readonly violation: Violation;
  readonly violations: readonly Violation[];
  readonly result: RunResult;
}

export interface ExploreInternalError {
  readonly index: number;
  readonly seed: number;
  readonly error: InternalError;
}

export interface ExploreResult {
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly found: boolean;
  /** Runs actually made (depends on early stops, so on the worker count). */
  readonly schedulesRun: number;
  /** firstFailure.index + 1: schedules a sequential search needs; null if none failed. */
  readonly schedulesToFind: number | null;
  readonly firstFailure: ExploreFailure | null;
  /** Every failing index seen, ascending (all of them when not stopping at the first). */
  readonly failingIndices: readonly number[];
  readonly firstInternalError: ExploreInternalError | null;
  /** The most steps any run took. */
  readonly maxSteps: number;
  /** The k PCT used. */
  readonly pctChoices?: number;
  /** DFS: distinct complete schedules run. */
  readonly distinctSchedules?: number;
  /** DFS: whether every schedule under the preemption bound was run or shown covered. */
  readonly exhausted?: boolean;
  /** DFS: alternatives never tried because sleep sets showed them covered. */
  readonly prunedBranches?: number;
  /** DFS: runs stopped early because sleep sets showed the rest covered. */
  readonly prunedRuns?: number;
}

/** The seed of schedule `index` in a search with base seed `base`. */
export function seedFor(base: number, index: number): number {
  return base + index;
}

const CALIBRATION_RUNS = 4;
const NO_FAILURE = 0x7fffffff;

/**
 * PCT's k for a scenario: the most choice points (steps where more than one task could
 * run) seen in a few uniform random runs, seeds S..S+CALIBRATION_RUNS-1.
 */
export function estimatePctChoices(scenario: Scenario, options: ExploreOptions): number {
  const seed = options.seed ?? 0;
  let most = 1;
  for (let j = 0; j < CALIBRATION_RUNS; j++) {
    const recording = new Recording(new UniformRandom());
    runScenario(scenario, contextFor(options, seedFor(seed, j), recording));
    most = Math.max(most, recording.choicePoints);
  }
  return most;
}

/** A shared cell for `lowestFailure`, initialised to "nothing found". */
export function newLowestFailureCell(): Int32Array {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  cell[0] = NO_FAILURE;
  return cell;
}

export function explore(scenario: Scenario, options: ExploreOptions): ExploreResult {
  checkOptions(options);
  const strategy = options.strategy ?? "pct";
  if (strategy === "dfs") return exploreDfs(scenario, options);
  return exploreSeeds(scenario, options, strategy);
}

function checkOptions(options: ExploreOptions): void {
  if (!Number.isSafeInteger(options.schedules) || options.schedules < 0) {
    throw new RangeError(`schedules must be an integer >= 0, got ${options.schedules}`);
  }
  const p = options.partition;
  if (p !== undefined && !(p.modulus >= 1 && p.residue >= 0 && p.residue < p.modulus)) {
    throw new RangeError(`bad partition ${p.residue} mod ${p.modulus}`);
  }
}

function contextFor(options: ExploreOptions, seed: number, strategy: Strategy): ScenarioContext {
  return {
    seed,
    strategy,
    ...(options.design === undefined ? {} : { design: options.design }),
    ...(options.defects === undefined ? {} : { defects: options.defects }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  };
}

/** Collects outcomes index by index. */
class Tally {
  schedulesRun = 0;
  maxSteps = 0;
  firstFailure: ExploreFailure | null = null;
  firstInternalError: ExploreInternalError | null = null;
  readonly failingIndices: number[] = [];

  /** Records one run; returns true when it failed. */
  add(index: number, seed: number, run: ReturnType<typeof runScenario>): boolean {
    this.schedulesRun++;
    this.maxSteps = Math.max(this.maxSteps, run.result.steps);
    const error = run.result.internalError;
    if (error !== null) {
      this.firstInternalError ??= { index, seed, error };
      return false;
    }
    const violation = primaryViolation(run);
    if (violation === null) return false;
    this.failingIndices.push(index);
    this.firstFailure ??= {
      index,
      seed,
      schedule: run.result.schedule,
      violation,
      violations: run.violations,
      result: run.result,
    };
    return true;
  }
}

function exploreSeeds(
  scenario: Scenario,
  options: ExploreOptions,
  strategy: "random" | "pct",
): ExploreResult {
  const base = options.seed ?? 0;
  const stopAtFirst = options.stopAtFirst ?? true;
  const depth = options.pctDepth ?? PCT_DEFAULT_DEPTH;
  const k = strategy === "pct" ? (options.pctChoices ?? estimatePctChoices(scenario, options)) : 0;
  const { modulus, residue } = options.partition ?? { modulus: 1, residue: 0 };
  const shared = options.lowestFailure;
  const tally = new Tally();
  for (let i = residue; i < options.schedules; i += modulus) {
    if (stopAtFirst && shared !== undefined && i > Atomics.load(shared, 0)) break;
    const seed = seedFor(base, i);
    const pick = strategy === "pct" ? new Pct({ depth, choices: k }) : new UniformRandom();
    const failed = tally.add(i, seed, runScenario(scenario, contextFor(options, seed, pick)));
    if (failed && stopAtFirst) {
      if (shared !== undefined) lowerTo(shared, i);
      break;
    }
  }
  return finish(scenario, options, strategy, tally, strategy === "pct" ? { pctChoices: k } : {});
}

function exploreDfs(scenario: Scenario, options: ExploreOptions): ExploreResult {
  const seed = options.seed ?? 0;
  const stopAtFirst = options.stopAtFirst ?? true;
  const sleepSets = (options.reduction ?? "sleep-sets") === "sleep-sets";
  const search = new DfsSearch(options.preemptionBound ?? 2, { sleepSets });
  const tally = new Tally();
  let i = 0;
  while (i < options.schedules) {
    const pick = search.nextRun();
    if (pick === null) break;
    const attach = (k: Kernel): void => {
      pick.attach(k);
    };
    const run = runScenario(scenario, { ...contextFor(options, seed, pick), onKernel: attach });
    // A run sleep sets stopped early is no schedule: its outcome means nothing.
    if (!search.finishRun(runTruncated(run.kernel, run.result))) continue;
    if (tally.add(i++, seed, run) && stopAtFirst) break;
  }
  const { prunedBranches, prunedRuns } = search.stats;
  return finish(scenario, options, "dfs", tally, {
    distinctSchedules: search.schedules,
    exhausted: search.exhausted,
    prunedBranches,
    prunedRuns,
  });
}

function finish(
  scenario: Scenario,
  options: ExploreOptions,
  strategy: StrategyName,
  tally: Tally,
  extra: Partial<ExploreResult>,
): ExploreResult {
  const first = tally.firstFailure;
  return {
    scenario: scenario.name,
    strategy,
    seed: options.seed ?? 0,
    found: first !== null,
    schedulesRun: tally.schedulesRun,
    schedulesToFind: first === null ? null : first.index + 1,
    firstFailure: first,
    failingIndices: tally.failingIndices,
    firstInternalError: tally.firstInternalError,
    maxSteps: tally.maxSteps,
    ...extra,
  };
}

/** Atomically lowers cell[0] to `index` if that is lower. */
function lowerTo(cell: Int32Array, index: number): void {
  for (;;) {
    const seen = Atomics.load(cell, 0);
    if (seen <= index) return;
    if (Atomics.compareExchange(cell, 0, seen, index) === seen) return;
  }
}
