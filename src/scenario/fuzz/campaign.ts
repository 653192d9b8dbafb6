/**
 * A fuzz campaign of one design (`odpsim fuzz`): programs drawn by the swarm generator,
 * each explored under a few random schedules, stopping at the first that fails.
 *
 * Models no kernel file. Program i is drawn from `seedFor(seed, i)` (checkProgram.ts)
 * and its schedule j runs from `seedFor(seedFor(seed, i), j)` (fuzzProgram.ts), so what
 * program i is and does depends on the seed and i alone. A campaign runs the indices of
 * its partition in ascending order (shards and workers split them by index, as the
 * explorer's do: shard.ts) and stops at its first failure, so the lowest failing index
 * over all partitions is the failure a single process finds: the same seed and program
 * budget give the same first failure whatever the worker count. A wall-clock bound
 * (`shouldStop`) only decides how many indices are run, never what one does.
 *
 * A failure (a violation of the model, or an internal error) is shrunk here program
 * first: fast-check shrinks the program's genes while it fails with the same key
 * (failureKey.ts: kind and site, or the exception). Its schedule is shrunk afterwards,
 * by the explorer's shrinker, once the program is written to a file.
 */
import type { Partition } from "../../check/explore.ts";
import { seedFor } from "../../check/seedFor.ts";
import { swarmArbitrary, type SwarmOptions } from "../generate/swarm.ts";
import type { ScenarioSpec } from "../schema.ts";
import { checkProgram } from "./checkProgram.ts";
import type { ProgramResult } from "./fuzzProgram.ts";
import { judgeProgram, outcomeMessage } from "./judgeProgram.ts";

/** Schedules each program is explored under by default. */
export const DEFAULT_SCHEDULES_PER_PROGRAM = 4;
/** Shrink candidates a failing program may spend by default. */
export const DEFAULT_PROGRAM_SHRINKS = 500;

export interface CampaignOptions {
  readonly design: string;
  readonly defects: readonly string[];
  readonly seed: number;
  /** Program indices 0..programs-1 (default: unbounded; then `shouldStop` must end it). */
  readonly programs?: number;
  /** Checked before each program: true ends the campaign (a wall-clock budget). */
  readonly shouldStop?: () => boolean;
  readonly schedules?: number;
  readonly maxShrinks?: number;
  /** Only these indices. Default all. */
  readonly partition?: Partition;
  /** The first index to run (to go on after a failure). Default 0. */
  readonly from?: number;
  /** The vocabulary the swarm draws from (default all of it). */
  readonly swarm?: Omit<SwarmOptions, "designs">;
  /** Called after each program with the programs run so far. */
  readonly onProgram?: (programsRun: number) => void;
  /** Programs above this index need not run (another worker failed lower). */
  readonly lowestFailure?: () => number;
}

export interface CampaignFailure {
  readonly type: "violation" | "internal_error";
  readonly key: string;
  readonly program: number;
  readonly programSeed: number;
  readonly original: ScenarioSpec;
  readonly shrunk: ScenarioSpec;
  readonly shrinkRuns: number;
  readonly message: string;
}

export interface CampaignResult {
  readonly programsRun: number;
  readonly schedulesRun: number;
  /** Programs whose non-clean runs were all of the program's own making. */
  readonly programOnly: number;
  readonly inconclusiveRuns: number;
  /** The highest index run, plus one (how far the campaign got). */
  readonly reached: number;
  readonly failure: CampaignFailure | null;
}

/** The partition's first index at or after `from`. */
function firstIndex(p: Partition, from: number): number {
  if (from <= p.residue) return p.residue;
  return p.residue + Math.ceil((from - p.residue) / p.modulus) * p.modulus;
}

/** The programs a campaign of `design` with these defects draws. */
export function campaignArbitrary(o: Pick<CampaignOptions, "design" | "defects" | "swarm">) {
  const defects = o.defects.length === 0 ? {} : { defects: [...o.defects] };
  return swarmArbitrary({ ...o.swarm, designs: [o.design] }).map((spec): ScenarioSpec => ({
    ...spec,
    ...defects,
  }));
}

export function runCampaign(o: CampaignOptions): CampaignResult {
  const arb = campaignArbitrary(o);
  const schedules = o.schedules ?? DEFAULT_SCHEDULES_PER_PROGRAM;
  const p = o.partition ?? { modulus: 1, residue: 0 };
  const tally = {
    programsRun: 0,
    schedulesRun: 0,
    programOnly: 0,
    inconclusiveRuns: 0,
    reached: 0,
  };
  for (let i = firstIndex(p, o.from ?? 0); i < (o.programs ?? Infinity); i += p.modulus) {
    if (o.shouldStop?.() === true || i > (o.lowestFailure?.() ?? Infinity)) break;
    const programSeed = seedFor(o.seed, i);
    let first: ProgramResult | null = null;
    const checked = checkProgram(
      arb,
      programSeed,
      (spec) => {
        const { key, result } = judgeProgram(spec, programSeed, schedules);
        first ??= result;
        return key;
      },
      o.maxShrinks ?? DEFAULT_PROGRAM_SHRINKS,
    );
    const r = first as ProgramResult | null;
    tally.programsRun++;
    tally.reached = i + 1;
    tally.schedulesRun += r?.schedulesRun ?? 0;
    tally.inconclusiveRuns += r?.inconclusiveRuns ?? 0;
    if (r !== null && r.programRuns > 0 && checked.key === null) tally.programOnly++;
    o.onProgram?.(tally.programsRun);
    if (checked.key === null || r === null) continue;
    const failure: CampaignFailure = {
      type: r.outcome.type === "internal_error" ? "internal_error" : "violation",
      key: checked.key,
      program: i,
      programSeed,
      original: checked.original,
      shrunk: checked.shrunk,
      shrinkRuns: checked.shrinkRuns,
      message: outcomeMessage(judgeProgram(checked.shrunk, programSeed, schedules).result),
    };
    return { ...tally, failure };
  }
  return { ...tally, failure: null };
}
