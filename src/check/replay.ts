/**
 * Replaying one recorded schedule of a scenario exactly, with the trace on: what
 * reports and replay tokens are made from.
 *
 * Models no kernel file. The schedule is followed strictly (`ReplaySchedule`); the
 * first step at which it names a task that cannot run, or where the run ends before or
 * after the schedule does, is reported as `divergence`, which means the scenario no longer behaves as it did when the schedule was recorded.
 */
import type { Kernel } from "../sim/kernel.ts";
import { ReplaySchedule } from "../sim/strategies/replay.ts";
import { runScenario, type Scenario, type ScenarioRun } from "./scenario.ts";
import type { FaultPlan } from "./faults.ts";
import { Recording } from "./strategies/recording.ts";

/** A run to reproduce: the seed and the complete schedule it executed. */
export interface RecordedRun {
  readonly seed: number;
  readonly schedule: ArrayLike<number>;
  readonly design?: string;
  readonly defects?: readonly string[];
  /** The fault plan the run was made with (same seed, same faults). */
  readonly faults?: FaultPlan;
  /** The scenario parts the run left out. */
  readonly omit?: readonly string[];
}

export interface Replayed extends ScenarioRun {
  /** First step where the schedule could not be followed, or -1. */
  readonly divergence: number;
  /** Preemptions in the replayed run. */
  readonly preemptions: number;
  /** Steps of the replayed run where more than one task could run. */
  readonly choicePoints: number;
}

export function replayRecorded(
  scenario: Scenario,
  recorded: RecordedRun,
  trace = true,
  onKernel?: (kernel: Kernel) => void,
): Replayed {
  const replay = new ReplaySchedule(recorded.schedule);
  const recording = new Recording(replay);
  const run = runScenario(scenario, {
    seed: recorded.seed,
    strategy: recording,
    trace,
    ...(onKernel === undefined ? {} : { onKernel }),
    ...(recorded.design === undefined ? {} : { design: recorded.design }),
    ...(recorded.defects === undefined ? {} : { defects: recorded.defects }),
    ...(recorded.faults === undefined ? {} : { faults: recorded.faults }),
    ...(recorded.omit === undefined || recorded.omit.length === 0 ? {} : { omit: recorded.omit }),
  });
  // A complete schedule ends exactly where the run ends; a run that stops short or goes
  // on past it has diverged too.
  const steps = run.result.steps;
  const length = recorded.schedule.length;
  const offEnd = steps === length ? -1 : Math.min(steps, length);
  const divergence = replay.divergence >= 0 ? replay.divergence : offEnd;
  return {
    ...run,
    divergence,
    preemptions: recording.preemptions,
    choicePoints: recording.choicePoints,
  };
}
