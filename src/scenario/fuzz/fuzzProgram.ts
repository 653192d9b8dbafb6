/**
 * Running one generated program under a few schedules and saying what it showed.
 *
 * Models no kernel file. Schedule j of a program with seed S runs uniform random
 * scheduling from `seedFor(S, j)` under free timing (timers are scheduling choices), the
 * same run `odpsim explore --strategy random --seed S` makes at index j, so a failing
 * schedule is reproduced by the explorer and by a replay token. The program stops at
 * its first schedule that shows something about the model (a violation, an internal
 * error); runs that show only the program's own failures (outcome.ts) go on to the next
 * schedule. An exception thrown while building or judging a run is an internal error
 * too: odpsim must never throw on a valid scenario.
 */
import { runScenario, type Scenario } from "../../check/scenario.ts";
import { seedFor } from "../../check/seedFor.ts";
import type { FaultPlan } from "../../check/faults.ts";
import { UniformRandom } from "../../sim/strategies/uniformRandom.ts";
import type { Timing } from "../../sim/timing.ts";
import type { Kernel } from "../../sim/kernel.ts";
import { CoverageRecorder } from "./coverage.ts";
import { outcomeOf, type RunOutcome } from "./outcome.ts";

/** Free timing: every order of timed events is reachable. */
export const FUZZ_TIMING: Timing = "free";

export interface FuzzProgramOptions {
  /** The program's base seed S. */
  readonly seed: number;
  /** Schedules to try. */
  readonly schedules: number;
  /** Overrides the program's design. */
  readonly design?: string;
  readonly defects?: readonly string[];
  readonly faults?: FaultPlan;
  /** Receives what each run reached (coverage.ts); left out, nothing is recorded. */
  readonly coverage?: Set<string>;
}

export interface ProgramResult {
  /** The first outcome that says something about the model, else clean or inconclusive. */
  readonly outcome: RunOutcome;
  /** Its schedule index j (seed seedFor(S, j)); null when every schedule was clean. */
  readonly index: number | null;
  readonly runSeed: number | null;
  /** The executed schedule of that run (for a token or the shrinker). */
  readonly schedule: Uint32Array | null;
  readonly schedulesRun: number;
  /** Schedules that showed only the program's own failures, or were cut off. */
  readonly programRuns: number;
  readonly inconclusiveRuns: number;
}

/** One run: its outcome and executed schedule; an exception is an internal error. */
export function fuzzRun(
  scenario: Scenario,
  seed: number,
  o: Omit<FuzzProgramOptions, "seed" | "schedules">,
): { outcome: RunOutcome; schedule: Uint32Array | null } {
  const recorder = o.coverage === undefined ? null : new CoverageRecorder();
  try {
    const run = runScenario(scenario, {
      seed,
      strategy: new UniformRandom(),
      timing: FUZZ_TIMING,
      ...(o.design === undefined ? {} : { design: o.design }),
      ...(o.defects === undefined ? {} : { defects: o.defects }),
      ...(o.faults === undefined ? {} : { faults: o.faults }),
      ...(recorder === null
        ? {}
        : {
            onKernel: (k: Kernel) => {
              recorder.attach(k);
            },
          }),
    });
    if (recorder !== null) {
      recorder.finish(run.kernel);
      for (const e of recorder.elements()) o.coverage?.add(e);
    }
    return { outcome: outcomeOf(run), schedule: run.result.schedule };
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { outcome: { type: "internal_error", message }, schedule: null };
  }
}

export function fuzzProgram(scenario: Scenario, o: FuzzProgramOptions): ProgramResult {
  let programRuns = 0;
  let inconclusiveRuns = 0;
  for (let j = 0; j < o.schedules; j++) {
    const runSeed = seedFor(o.seed, j);
    const { outcome, schedule } = fuzzRun(scenario, runSeed, o);
    if (outcome.type === "violation" || outcome.type === "internal_error") {
      return {
        outcome,
        index: j,
        runSeed,
        schedule,
        schedulesRun: j + 1,
        programRuns,
        inconclusiveRuns,
      };
    }
    if (outcome.type === "program") programRuns++;
    if (outcome.type === "inconclusive") inconclusiveRuns++;
  }
  return {
    outcome: inconclusiveRuns > 0 ? { type: "inconclusive" } : { type: "clean" },
    index: null,
    runSeed: null,
    schedule: null,
    schedulesRun: o.schedules,
    programRuns,
    inconclusiveRuns,
  };
}
