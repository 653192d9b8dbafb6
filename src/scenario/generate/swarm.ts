/**
 * Swarm testing: each program draws which operation kinds and fault sites it may use.
 *
 * Models no kernel file. Groce et al., "Swarm testing" (ISSTA 2012): leaving features
 * out of a test at random finds bugs that a feature-complete test masks (an exit that
 * tears the process down before the race, a fault that stops a thread first). Each
 * operation kind is on with probability 1/2; fault sites are off in half the programs
 * and a random subset of `faultSites` in the others. Shrinking a swarm draw turns
 * features off.
 */
import fc from "fast-check";
import type { FaultSite } from "../../check/faults.ts";
import type { ScenarioSpec } from "../schema.ts";
import { ALL_OP_NAMES, ALL_FAULT_SITES, type GenerateOptions } from "./options.ts";
import { scenarioArbitrary } from "./scenarioArbitrary.ts";

export interface SwarmOptions extends Omit<GenerateOptions, "ops" | "faultSites"> {
  /** The operation kinds a draw chooses from. Default all. */
  readonly ops?: GenerateOptions["ops"];
  /** The fault sites a draw chooses from. Default all. */
  readonly faultSites?: readonly FaultSite[];
}

/** A swarm draw, then a program of that subset of the vocabulary. */
export function swarmArbitrary(options: SwarmOptions = {}): fc.Arbitrary<ScenarioSpec> {
  const ops = options.ops ?? ALL_OP_NAMES;
  const sites = options.faultSites ?? ALL_FAULT_SITES;
  const subset = fc.record({
    ops: fc.subarray([...ops]),
    faultSites: fc.oneof(fc.constant([] as FaultSite[]), fc.subarray([...sites])),
  });
  return subset.chain((s) => scenarioArbitrary({ ...options, ...s }));
}
