/**
 * Replays a schedule as a guide rather than a script: at step i it makes the pick the
 * schedule names (a task, or the timer) if the run can make it; otherwise, and past the
 * schedule's end, it lets the task that ran last keep running (no preemption), or the
 * lowest-id runnable task when that one blocked or ended. It never fires a timer the
 * schedule does not name, so time moves early only where the schedule says so.
 *
 * Models no kernel file. This is the shrinker's replay: deleting a step, a context
 * switch or an early timer from a failing schedule must not introduce new preemptions,
 * so every gap is filled by "continue the current task", which is also what
 * `nonPreemptiveChoice` computes for the preemption count and the DFS default. A timer
 * step leaves the current task current: the timer interrupted it.
 */
import { recordedPick } from "../../sim/strategies/replay.ts";
import { TIMER, type Pick, type Strategy } from "../../sim/strategy.ts";
import type { Task } from "../../sim/task.ts";

/** The task a non-preemptive scheduler runs: `previous` if still runnable, else the first. */
export function nonPreemptiveChoice(runnable: readonly Task[], previous: number): Task {
  if (previous >= 0) for (const task of runnable) if (task.id === previous) return task;
  return runnable[0] as Task;
}

export class GuidedReplay implements Strategy {
  readonly name = "guided";
  /** Steps at which the schedule named a task that could not run. */
  divergences = 0;
  private previous = -1;

  constructor(private readonly schedule: ArrayLike<number>) {}

  start(): void {
    this.divergences = 0;
    this.previous = -1;
  }

  pick(runnable: readonly Task[], step: number, timer: boolean): Pick {
    let chosen: Pick | null = null;
    if (step < this.schedule.length) {
      chosen = recordedPick(this.schedule[step] as number, runnable, timer);
      if (chosen === null) this.divergences++;
    }
    chosen ??= nonPreemptiveChoice(runnable, this.previous);
    if (chosen !== TIMER) this.previous = chosen.id;
    return chosen;
  }
}
