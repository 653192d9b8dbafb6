/**
 * The scenario-language fuzz (`npm run fuzz`): generated programs of every design, no
 * defects, each under a few random schedules; odpsim must never throw.
 *
 * Models no kernel file. Program i is drawn from `seedFor(seed, i)` (checkProgram.ts)
 * by the swarm generator and compiled through its file text, so the parser, validator
 * and compiler are fuzzed with the model. Outcomes: an internal error (an exception of
 * odpsim, never acceptable) is shrunk to the smallest program failing with the same
 * exception; a violation of the model in a defect-free design is a finding, shrunk to
 * the smallest program failing at the same place; failures of the program's own making
 * and cut-off runs are counted. Each distinct key is shrunk once.
 */
import { seedFor } from "../../check/seedFor.ts";
import type { ScenarioSpec } from "../schema.ts";
import { swarmArbitrary } from "../generate/swarm.ts";
import { checkProgram } from "./checkProgram.ts";
import type { ProgramResult } from "./fuzzProgram.ts";
import { judgeProgram, outcomeMessage } from "./judgeProgram.ts";

export interface LanguageFuzzOptions {
  /** Programs to generate. */
  readonly runs: number;
  readonly seed: number;
  /** Schedules per program. Default 2. */
  readonly schedules?: number;
  /** Shrink candidates per failure. Default 300. */
  readonly maxShrinks?: number;
  /** Called after each program (progress). */
  readonly onProgram?: (done: number) => void;
}

/** A distinct failure: its key, the program that first showed it, and the shrunk one. */
export interface LanguageFuzzFailure {
  readonly key: string;
  readonly type: "internal_error" | "violation";
  readonly design: string;
  /** The program index i and its seed. */
  readonly program: number;
  readonly programSeed: number;
  /** The schedule index j of the shrunk program that shows it, and that run's seed. */
  readonly scheduleIndex: number | null;
  readonly runSeed: number | null;
  readonly message: string;
  readonly spec: ScenarioSpec;
  readonly count: number;
}

export interface LanguageFuzzResult {
  readonly programs: number;
  readonly schedulesRun: number;
  readonly internalErrors: number;
  readonly violations: number;
  /** Programs whose every non-clean run was of the program's own making. */
  readonly programOnly: number;
  readonly inconclusiveRuns: number;
  readonly failures: readonly LanguageFuzzFailure[];
}

const judgeOf = (programSeed: number, schedules: number) => (spec: ScenarioSpec) =>
  judgeProgram(spec, programSeed, schedules);

export function languageFuzz(o: LanguageFuzzOptions): LanguageFuzzResult {
  const schedules = o.schedules ?? 2;
  const arb = swarmArbitrary();
  const failures = new Map<string, LanguageFuzzFailure>();
  let schedulesRun = 0;
  let programOnly = 0;
  let inconclusiveRuns = 0;
  let internalErrors = 0;
  let violations = 0;
  for (let i = 0; i < o.runs; i++) {
    const programSeed = seedFor(o.seed, i);
    const judge = judgeOf(programSeed, schedules);
    let firstResult: ProgramResult | null = null;
    const known = (key: string) => failures.has(key);
    const checked = checkProgram(
      arb,
      programSeed,
      (spec) => {
        const { key, result } = judge(spec);
        firstResult ??= result;
        return key;
      },
      // A key already shrunk is counted, not shrunk again.
      o.maxShrinks ?? 300,
      known,
    );
    const first = firstResult as ProgramResult | null;
    if (first !== null) {
      schedulesRun += first.schedulesRun;
      inconclusiveRuns += first.inconclusiveRuns;
      if (first.programRuns > 0 && checked.key === null) programOnly++;
    }
    o.onProgram?.(i + 1);
    if (checked.key === null || first === null) continue;
    if (first.outcome.type === "internal_error") internalErrors++;
    else violations++;
    const seen = failures.get(checked.key);
    if (seen !== undefined) {
      failures.set(checked.key, { ...seen, count: seen.count + 1 });
      continue;
    }
    const shrunk = judge(checked.shrunk).result;
    failures.set(checked.key, {
      key: checked.key,
      type: first.outcome.type === "internal_error" ? "internal_error" : "violation",
      design: checked.shrunk.design ?? "classic",
      program: i,
      programSeed,
      scheduleIndex: shrunk.index,
      runSeed: shrunk.runSeed,
      message: outcomeMessage(shrunk),
      spec: checked.shrunk,
      count: 1,
    });
  }
  return {
    programs: o.runs,
    schedulesRun,
    internalErrors,
    violations,
    programOnly,
    inconclusiveRuns,
    failures: [...failures.values()],
  };
}
