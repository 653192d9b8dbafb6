/**
 * The explorer: runs many schedules of a scenario under one search strategy and
 * reports the first that breaks an invariant.
 *
 * Models no kernel file. Schedule i of a random or PCT search runs with seed
 * `seedFor(S, i)` (seedFor.ts), so any failing index can be rerun alone, and a
 * partition of the indices (shards, workers) finds exactly the failures one process
 * finds. PCT needs k, the expected count of choice points: it is measured before the
 * search by a few calibration runs under uniform random scheduling and then fixed for
 * every index, so that no run's parameters depend on which other indices the same
 * process ran. DFS runs every schedule with seed S and is inherently sequential; by
 * default it prunes with sleep sets (see strategies/dfs.ts), which only bite on tasks
 * that declare their footprints.
 *
 * Timing defaults to free (sim/timing.ts): firing the earliest timer is one of every
 * strategy's choices, so no race depends on a scenario's sleeps lining up with the cost
 * model.
 *
 * Outcomes (verdict.ts): the search stops at the first index that fails or that ends in
 * an odpsim internal error (when stopping at the first failure; an internal error always
 * stops it). A run cut off by the step bound judges nothing: it is counted, with its
 * index, and makes a search that found nothing inconclusive rather than clean.
 */
import type { Kernel, RunResult } from "../sim/kernel.ts";
import { UniformRandom } from "../sim/strategies/uniformRandom.ts";
import type { Strategy } from "../sim/strategy.ts";
import { DEFAULT_EXPLORE_TIMING, type Timing } from "../sim/timing.ts";
import type { InternalError, Violation } from "../sim/violation.ts";
import {
  primaryViolation,
  runScenario,
  runSettingsOf,
  type RunSettings,
  type Scenario,
  type ScenarioContext,
  type ScenarioRun,
} from "./scenario.ts";
import { seedFor } from "./seedFor.ts";
import { DfsSearch, runTruncated } from "./strategies/dfs.ts";
import { PCT_DEFAULT_DEPTH, Pct } from "./strategies/pct.ts";
import { Recording } from "./strategies/recording.ts";
import { verdictOf, type Verdict } from "./verdict.ts";

export { seedFor } from "./seedFor.ts";

export type StrategyName = "random" | "pct" | "dfs";

export type DfsReduction = "sleep-sets" | "none";

export const STRATEGY_NAMES: readonly StrategyName[] = ["random", "pct", "dfs"];

/** The indices i with i % modulus === residue: a shard, or one worker's part of it. */
export interface Partition {
  readonly modulus: number;
  readonly residue: number;
}

export interface ExploreOptions extends RunSettings {
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
  /** Only explore these indices (random and PCT). Default: all. */
  readonly partition?: Partition;
  /**
   * Shared with other workers: slot 0 holds the lowest index any of them has stopped
   * at (a failure or an internal error); indices above it are skipped.
   */
  readonly lowestFailure?: Int32Array;
  /** Called after each run with the runs made so far (progress display). */
  readonly onProgress?: (schedulesRun: number) => void;
}

export interface ExploreFailure {
  readonly index: number;
  readonly seed: number;
  /** The timing the run was made under: its schedule replays only under the same. */
  readonly timing: Timing;
  readonly schedule: Uint32Array;
  readonly violation: Violation;
  readonly violations: readonly Violation[];
  readonly result: RunResult;
}

export interface ExploreInternalError {
  readonly index: number;
  readonly seed: number;
  /** The schedule the run executed up to the error: replaying it reproduces the error. */
  readonly schedule: readonly number[];
  readonly error: InternalError;
}

export interface ExploreResult {
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly seed: number;
  /** The timing every run was made under. */
  readonly timing: Timing;
  readonly verdict: Verdict;
  readonly found: boolean;
  /** Runs actually made (depends on early stops, so on the worker count). */
  readonly schedulesRun: number;
  /** firstFailure.index + 1: schedules a sequential search needs; null if none failed. */
  readonly schedulesToFind: number | null;
  readonly firstFailure: ExploreFailure | null;
  /** Every failing index seen, ascending (all of them when not stopping at the first). */
  readonly failingIndices: readonly number[];
  /** The first violation's kind of each failing index, in `failingIndices`' order. */
  readonly failingKinds: readonly string[];
  /** The same violations' messages, in the same order (findings match on them). */
  readonly failingMessages: readonly string[];
  readonly firstInternalError: ExploreInternalError | null;
  /** Indices of runs cut off by the step bound, ascending: they judge nothing. */
  readonly inconclusiveIndices: readonly number[];
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

const CALIBRATION_RUNS = 4;
const NO_FAILURE = 0x7fffffff;

/** The timing a search runs under: the options', else free. */
export function exploreTiming(options: RunSettings): Timing {
  return options.timing ?? DEFAULT_EXPLORE_TIMING;
}

/**
 * PCT's k for a scenario: the most choice points (steps where more than one pick was
 * possible) seen in a few uniform random runs, the search's first indices' seeds.
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

/** The context of one run of the search: its seed and strategy, the search's settings. */
function contextFor(options: ExploreOptions, seed: number, strategy: Strategy): ScenarioContext {
  return { seed, strategy, ...runSettingsOf(options), timing: exploreTiming(options) };
}

/** What one run means to the search. */
type Outcome = "pass" | "fail" | "error" | "inconclusive";

/** Collects outcomes index by index. */
class Tally {
  constructor(private readonly timing: Timing) {}

  schedulesRun = 0;
  maxSteps = 0;
  firstFailure: ExploreFailure | null = null;
  firstInternalError: ExploreInternalError | null = null;
  readonly failingIndices: number[] = [];
  readonly failingKinds: string[] = [];
  readonly failingMessages: string[] = [];
  readonly inconclusiveIndices: number[] = [];

  /** Records one run and says what it meant. */
  add(index: number, seed: number, run: ScenarioRun): Outcome {
    this.schedulesRun++;
    this.maxSteps = Math.max(this.maxSteps, run.result.steps);
    const error = run.result.internalError;
    if (error !== null) {
      this.firstInternalError ??= { index, seed, schedule: Array.from(run.result.schedule), error };
      return "error";
    }
    const violation = primaryViolation(run);
    if (violation === null) {
      if (run.result.status !== "step_bound") return "pass";
      this.inconclusiveIndices.push(index);
      return "inconclusive";
    }
    this.failingIndices.push(index);
    this.failingKinds.push(violation.kind);
    this.failingMessages.push(violation.message);
    this.firstFailure ??= {
      index,
      seed,
      timing: this.timing,
      schedule: run.result.schedule,
      violation,
      violations: run.violations,
      result: run.result,
    };
    return "fail";
  }
}

/** Whether the search stops after an index with this outcome. */
function stops(outcome: Outcome, stopAtFirst: boolean): boolean {
  return outcome === "error" || (outcome === "fail" && stopAtFirst);
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
  const tally = new Tally(exploreTiming(options));
  for (let i = residue; i < options.schedules; i += modulus) {
    if (shared !== undefined && i > Atomics.load(shared, 0)) break;
    const seed = seedFor(base, i);
    const pick = strategy === "pct" ? new Pct({ depth, choices: k }) : new UniformRandom();
    const outcome = tally.add(i, seed, runScenario(scenario, contextFor(options, seed, pick)));
    options.onProgress?.(tally.schedulesRun);
    if (stops(outcome, stopAtFirst)) {
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
  const tally = new Tally(exploreTiming(options));
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
    const outcome = tally.add(i++, seed, run);
    options.onProgress?.(tally.schedulesRun);
    if (stops(outcome, stopAtFirst)) break;
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
    timing: exploreTiming(options),
    verdict: verdictOf({
      internalError: tally.firstInternalError !== null,
      violation: first !== null,
      inconclusive: tally.inconclusiveIndices.length > 0,
    }),
    found: first !== null,
    schedulesRun: tally.schedulesRun,
    schedulesToFind: first === null ? null : first.index + 1,
    firstFailure: first,
    failingIndices: tally.failingIndices,
    failingKinds: tally.failingKinds,
    failingMessages: tally.failingMessages,
    firstInternalError: tally.firstInternalError,
    inconclusiveIndices: tally.inconclusiveIndices,
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
