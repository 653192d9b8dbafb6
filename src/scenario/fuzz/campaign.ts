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
 * Which program index i is comes from the campaign's strategy (strategies.ts): blind
 * draws every program fresh; feedback mutates programs that reached new coverage, and
 * its program i depends also on the programs below i's batch (strategy.ts), which a
 * campaign tells it in index order. So a feedback campaign is a function of its seed
 * and budget when it runs every index in one partition; split over partitions, each
 * would see only its own programs, and runCampaign refuses that.
 *
 * A failure (a violation of the model, or an internal error) is shrunk here program
 * first, while it fails with the same key (failureKey.ts: kind and site, or the
 * exception): by fast-check for a fresh draw, by shrinkGene.ts for a mutant. Its
 * schedule is shrunk afterwards, by the explorer's shrinker, once the program is
 * written to a file. `onFailure` may let the campaign go on after a failure (a soak,
 * the benchmark's hunt past the design's own failures).
 */
import type { Partition } from "../../check/explore.ts";
import { seedFor } from "../../check/seedFor.ts";
import { decodeProgram, type ProgramGene, type SwarmOptions } from "../generate/programGene.ts";
import type { ScenarioSpec } from "../schema.ts";
import type { ProgramResult } from "./fuzzProgram.ts";
import { judgeProgram, outcomeMessage } from "./judgeProgram.ts";
import { DEFAULT_FUZZ_STRATEGY, fuzzStrategy, type FuzzStrategyName } from "./strategies.ts";

/** Schedules each program is explored under by default. */
export const DEFAULT_SCHEDULES_PER_PROGRAM = 4;
/** Shrink candidates a failing program may spend by default. */
export const DEFAULT_PROGRAM_SHRINKS = 500;

export interface CampaignOptions {
  readonly design: string;
  readonly defects: readonly string[];
  readonly seed: number;
  /** How programs are chosen (strategies.ts). Default DEFAULT_FUZZ_STRATEGY. */
  readonly strategy?: FuzzStrategyName;
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
  /** Called with each failure: true goes on to the next index. Default: stop. */
  readonly onFailure?: (failure: CampaignFailure) => boolean;
  /** A failure whose key this says yes to is not shrunk. Default: shrink every one. */
  readonly alreadyShrunk?: (key: string) => boolean;
}

export interface CampaignFailure {
  readonly type: "violation" | "internal_error";
  readonly key: string;
  readonly program: number;
  readonly programSeed: number;
  /** How the strategy made the program: `fresh`, or `mutant of program N`. */
  readonly origin: string;
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

/** The program a campaign of `design` with these defects runs for these genes. */
export function campaignProgram(
  o: Pick<CampaignOptions, "design" | "defects" | "swarm">,
  gene: ProgramGene,
): ScenarioSpec {
  const spec = decodeProgram(gene, { ...o.swarm, designs: [o.design] });
  return o.defects.length === 0 ? spec : { ...spec, defects: [...o.defects] };
}

export function runCampaign(o: CampaignOptions): CampaignResult {
  const swarm = { ...o.swarm, designs: [o.design] };
  const strategy = fuzzStrategy(o.strategy ?? DEFAULT_FUZZ_STRATEGY, swarm);
  const schedules = o.schedules ?? DEFAULT_SCHEDULES_PER_PROGRAM;
  const p = o.partition ?? { modulus: 1, residue: 0 };
  if (strategy.wantsCoverage && p.modulus > 1) {
    throw new RangeError(`the ${strategy.name} strategy runs every program in one partition`);
  }
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
    let first: { result: ProgramResult; coverage: Set<string> } | null = null;
    const drawn = strategy.program(
      i,
      programSeed,
      (gene) => {
        const coverage = new Set<string>();
        const spec = campaignProgram(o, gene);
        const judged = judgeProgram(
          spec,
          programSeed,
          schedules,
          first === null && strategy.wantsCoverage ? coverage : undefined,
        );
        first ??= { result: judged.result, coverage };
        return judged.key;
      },
      o.maxShrinks ?? DEFAULT_PROGRAM_SHRINKS,
      o.alreadyShrunk,
    );
    const judged = first as { result: ProgramResult; coverage: Set<string> } | null;
    const r = judged?.result ?? null;
    tally.programsRun++;
    tally.reached = i + 1;
    tally.schedulesRun += r?.schedulesRun ?? 0;
    tally.inconclusiveRuns += r?.inconclusiveRuns ?? 0;
    if (r !== null && r.programRuns > 0 && drawn.key === null) tally.programOnly++;
    if (judged !== null) strategy.observe(i, drawn.original, judged.coverage);
    o.onProgram?.(tally.programsRun);
    if (drawn.key === null || r === null) continue;
    const shrunk = campaignProgram(o, drawn.shrunk);
    const failure: CampaignFailure = {
      type: r.outcome.type === "internal_error" ? "internal_error" : "violation",
      key: drawn.key,
      program: i,
      programSeed,
      origin: drawn.origin,
      original: campaignProgram(o, drawn.original),
      shrunk,
      shrinkRuns: drawn.shrinkRuns,
      message: outcomeMessage(
        drawn.shrunk === drawn.original ? r : judgeProgram(shrunk, programSeed, schedules).result,
      ),
    };
    if (o.onFailure?.(failure) !== true) return { ...tally, failure };
  }
  return { ...tally, failure: null };
}
