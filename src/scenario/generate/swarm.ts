/**
 * Swarm testing: each program draws which operation kinds and fault sites it may use.
 *
 * Models no kernel file. Groce et al., "Swarm testing" (ISSTA 2012): leaving features
 * out of a test at random finds bugs that a feature-complete test masks (an exit that
 * tears the process down before the race, a fault that stops a thread first). Each
 * operation kind is on with probability 1/2; fault sites are off in half the programs
 * and a random subset of `faultSites` in the others. Shrinking a swarm draw turns
 * features off. The draw and the program are genes (programGene.ts), decoded here.
 */
import fc from "fast-check";
import type { ScenarioSpec } from "../schema.ts";
import { decodeProgram, programGeneArbitrary, type SwarmOptions } from "./programGene.ts";

export type { SwarmOptions } from "./programGene.ts";

/** A swarm draw, then a program of that subset of the vocabulary. */
export function swarmArbitrary(options: SwarmOptions = {}): fc.Arbitrary<ScenarioSpec> {
  return programGeneArbitrary(options).map((g) => decodeProgram(g, options));
}
