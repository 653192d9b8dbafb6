/**
 * The fuzz strategies by name, and the default: the one registry the campaign and the
 * benchmark share (`odpsim fuzz` does not take a strategy flag yet).
 *
 * Models no kernel file. The default is blind: the side-by-side benchmark
 * (`npm run bench -- --filter fuzz.`) that would say whether feedback finds the catalog
 * defects sooner has not been run to the end yet, so nothing backs switching.
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
