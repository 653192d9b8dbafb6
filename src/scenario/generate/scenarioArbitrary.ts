/**
 * The public generator: a fast-check arbitrary of valid scenario documents.
 *
 * Models no kernel file. Draws genes (genes.ts) and decodes them (decode.ts): hosts,
 * processes with buffers (anonymous, file, shmem, hugetlb), explicit and implicit ODP
 * MRs, connected RC QPs, HMM test-device mirrors, a fork child, and threads of every
 * operation kind their thread kind may run, with in-range and edge arguments (a range's
 * first and last byte, a whole buffer). No defects: a generated program judges a design
 * as it is. Shrinks with its genes.
 */
import fc from "fast-check";
import type { ScenarioSpec } from "../schema.ts";
import { decodeScenario } from "./decode.ts";
import { scenarioGene } from "./genes.ts";
import { resolveGenerateOptions, type GenerateOptions } from "./options.ts";

export function scenarioArbitrary(options: GenerateOptions = {}): fc.Arbitrary<ScenarioSpec> {
  const o = resolveGenerateOptions(options);
  return scenarioGene(o).map((g) => decodeScenario(g, o));
}
