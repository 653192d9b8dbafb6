/**
 * Judging a generated program: compile it through its file text, run its schedules, and
 * key the failure (failureKey.ts), the judge both fuzzers shrink with.
 *
 * Models no kernel file.
 */
import type { ScenarioSpec } from "../schema.ts";
import { failureKey } from "./failureKey.ts";
import { fuzzProgram, type ProgramResult } from "./fuzzProgram.ts";
import { compileGenerated } from "./scenarioText.ts";

/** The file name a program is compiled under while it is judged. */
const FILE = "generated.yaml";

export function judgeProgram(
  spec: ScenarioSpec,
  programSeed: number,
  schedules: number,
  coverage?: Set<string>,
): { key: string | null; result: ProgramResult } {
  const result = fuzzProgram(compileGenerated(spec, FILE), {
    seed: programSeed,
    schedules,
    ...(coverage === undefined ? {} : { coverage }),
  });
  return { key: failureKey(result.outcome), result };
}

/** What a program's result says, in one message. */
export function outcomeMessage(r: ProgramResult): string {
  const o = r.outcome;
  if (o.type === "internal_error") return o.message;
  if (o.type === "violation") return o.violation.message;
  return o.type;
}
