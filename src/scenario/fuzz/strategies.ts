/**
 * The fuzz strategies by name, and the default: the one registry the campaign, the
 * benchmark and `odpsim fuzz --strategy` share.
 *
 * Models no kernel file. The default is blind. Side by side in one benchmark run
 * (`FUZZ_BENCH_SECONDS=120 npm run bench -- --filter fuzz.`, one worker, seed 0) blind
 * found 17 of the 22 catalog defects and feedback 18 within 120 CPU s each, each
 * strategy faster on some defects and slower on others (docs/fuzzing.md has the
 * table), so feedback does not measurably help on the whole; and only blind splits
 * over workers and shards with the same first failure, because feedback's program i
 * depends on the coverage of the programs below it.
 */
import type { SwarmOptions } from "../generate/programGene.ts";
import { BlindStrategy } from "./blind.ts";
import { FeedbackStrategy } from "./feedback.ts";
import type { FuzzStrategy } from "./strategy.ts";

export const FUZZ_STRATEGY_NAMES = ["blind", "feedback"] as const;
export type FuzzStrategyName = (typeof FUZZ_STRATEGY_NAMES)[number];
export const DEFAULT_FUZZ_STRATEGY: FuzzStrategyName = "blind";

export function isFuzzStrategyName(name: string): name is FuzzStrategyName {
  return (FUZZ_STRATEGY_NAMES as readonly string[]).includes(name);
}

/** A fresh strategy of this name for a campaign drawing from `swarm`. */
export function fuzzStrategy(name: FuzzStrategyName, swarm: SwarmOptions): FuzzStrategy {
  return name === "feedback" ? new FeedbackStrategy(swarm) : new BlindStrategy(swarm);
}
