/**
 * A swarm program as genes: the swarm draw (which operation kinds and fault sites it may
 * use) and the scenario genes, so a fuzzer that mutates programs (src/scenario/fuzz/
 * feedback.ts) can edit any part and decode the result into a valid scenario.
 *
 * Models no kernel file. `programGeneArbitrary(o).map((g) => decodeProgram(g, o))` draws
 * exactly what `swarmArbitrary(o)` draws (swarm.ts is that composition): mapping takes
 * no randomness, so a blind campaign's program i is the same either way.
 */
import fc from "fast-check";
import type { FaultSite } from "../../check/faults.ts";
import type { OpName } from "../opSpec.ts";
import type { ScenarioSpec } from "../schema.ts";
import { decodeScenario } from "./decode.ts";
import { scenarioGene, type ScenarioGene } from "./genes.ts";
import {
  ALL_FAULT_SITES,
  ALL_OP_NAMES,
  resolveGenerateOptions,
  type GenerateOptions,
} from "./options.ts";

export interface SwarmOptions extends Omit<GenerateOptions, "ops" | "faultSites"> {
  /** The operation kinds a draw chooses from. Default all. */
  readonly ops?: GenerateOptions["ops"];
  /** The fault sites a draw chooses from. Default all. */
  readonly faultSites?: readonly FaultSite[];
}

export interface ProgramGene {
  /** The operation kinds this program may use (signal and wait always). */
  readonly ops: readonly OpName[];
  /** The fault sites it may enable; `scenario.faults` has one flag for each. */
  readonly faultSites: readonly FaultSite[];
  readonly scenario: ScenarioGene;
}

/** The generator options of one program: the swarm's, narrowed to its draw. */
export function programOptions(g: Pick<ProgramGene, "ops" | "faultSites">, o: SwarmOptions) {
  return resolveGenerateOptions({ ...o, ops: g.ops, faultSites: g.faultSites });
}

/** A swarm draw, then the genes of a program of that subset of the vocabulary. */
export function programGeneArbitrary(o: SwarmOptions = {}): fc.Arbitrary<ProgramGene> {
  const subset = fc.record({
    ops: fc.subarray([...(o.ops ?? ALL_OP_NAMES)]),
    faultSites: fc.oneof(
      fc.constant([] as FaultSite[]),
      fc.subarray([...(o.faultSites ?? ALL_FAULT_SITES)]),
    ),
  });
  return subset.chain((s) =>
    scenarioGene(programOptions(s, o)).map((scenario): ProgramGene => ({ ...s, scenario })),
  );
}

/** The scenario a program's genes stand for. */
export function decodeProgram(g: ProgramGene, o: SwarmOptions = {}): ScenarioSpec {
  return decodeScenario(g.scenario, programOptions(g, o));
}
