/**
 * Replays a recorded schedule: at step i run the task whose id the schedule holds, or
 * fire the timer where it holds `TIMER_ID`.
 *
 * Models no kernel file. Past the end of the schedule it falls back to another
 * strategy (the shrinker cuts schedules short and lets the rest run). A pick the run
 * cannot make (a task that is not runnable, a timer with none armed or not offered)
 * means the run diverged from the recording: `divergence` records the first such step
 * and the fallback decides that step.
 */
import { TIMER, TIMER_ID, type Pick, type Strategy, type StrategyContext } from "../strategy.ts";
import type { Task } from "../task.ts";
import { FirstRunnable } from "./firstRunnable.ts";

export class ReplaySchedule implements Strategy {
  readonly name = "replay";
  /** The first step at which the recording named a pick the run could not make, or -1. */
  divergence = -1;

  constructor(
    private readonly schedule: ArrayLike<number>,
    private readonly fallback: Strategy = new FirstRunnable(),
  ) {}

  start(ctx: StrategyContext): void {
    this.divergence = -1;
    this.fallback.start(ctx);
  }

  onSpawn(task: Task): void {
    this.fallback.onSpawn?.(task);
  }

  pick(runnable: readonly Task[], step: number, timer: boolean): Pick {
    if (step < this.schedule.length) {
      const recorded = recordedPick(this.schedule[step] as number, runnable, timer);
      if (recorded !== null) return recorded;
      if (this.divergence < 0) this.divergence = step;
    }
    return this.fallback.pick(runnable, step, timer);
  }
}

/** The pick a schedule entry names, if the run can make it here; else null. */
export function recordedPick(id: number, runnable: readonly Task[], timer: boolean): Pick | null {
  if (id === TIMER_ID) return timer ? TIMER : null;
  for (const task of runnable) if (task.id === id) return task;
  return null;
}
