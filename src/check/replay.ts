/**
 * Replaying one recorded schedule of a scenario exactly, with the trace on: what
 * reports and replay tokens are made from.
 *
 * Models no kernel file. The schedule is followed strictly (`ReplaySchedule`); the
 * first step at which it names a pick the run cannot make, or where the run ends before
 * or after the schedule does, is reported as `divergence`, which means the scenario no
 * longer behaves as it did when the schedule was recorded.
 */
import type { Kernel } from "../sim/kernel.ts";
import { ReplaySchedule } from "../sim/strategies/replay.ts";
import {
  runScenario,
  runSettingsOf,
  type RunSettings,
  type Scenario,
  type ScenarioRun,
} from "./scenario.ts";
import { Recording } from "./strategies/recording.ts";

/**
 * A run to reproduce: the seed and the complete schedule it executed, under the
 * settings it was made with (its timing included: a schedule with timer steps replays
 * only under free timing).
 */
export interface RecordedRun extends RunSettings {
  readonly seed: number;
  readonly schedule: ArrayLike<number>;
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
    ...runSettingsOf(recorded),
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
