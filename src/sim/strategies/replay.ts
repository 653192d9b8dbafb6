/**
 * Replays a recorded schedule: at step i run the task whose id the schedule holds.
 *
 * Models no kernel file. Past the end of the schedule it falls back to another
 * strategy (the shrinker cuts schedules short and lets the rest run). A pick of a task
 * that is not runnable means the run diverged from the recording: the first such step is
 * kept in `divergence` and the fallback picks instead, which is what the shrinker wants
 * when it deletes steps.
 */
import type { Strategy, StrategyContext } from "../strategy.ts";
import type { Task } from "../task.ts";
import { FirstRunnable } from "./firstRunnable.ts";

export class ReplaySchedule implements Strategy {
  readonly name = "replay";
  /** The first step at which the recording named a task that could not run, or -1. */
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

  pick(runnable: readonly Task[], step: number): Task {
    if (step < this.schedule.length) {
      const want = this.schedule[step];
      for (const task of runnable) if (task.id === want) return task;
      if (this.divergence < 0) this.divergence = step;
    }
    return this.fallback.pick(runnable, step);
  }
}
