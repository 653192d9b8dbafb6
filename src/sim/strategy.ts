/**
 * How the scheduler picks the next step: the seam every search strategy plugs into.
 *
 * Models the choice a real CPU scheduler (kernel/sched/) makes nondeterministically
 * from a tester's point of view. The scheduler hands a strategy the runnable tasks,
 * always ordered by task id, and records the pick; the picks are the schedule.
 *
 * Under free timing (see timing.ts) a strategy is also offered the timer: instead of
 * running a task it may fire the earliest armed timer, moving the clock to its deadline
 * while the runnable tasks simply have not run yet. Such a pick is recorded in the
 * schedule as `TIMER_ID`. A strategy that never returns `TIMER` keeps the nominal
 * behaviour, where time moves only when nothing can run.
 */
import type { Prng } from "./rng.ts";
import type { Task } from "./task.ts";

/** What a strategy may draw on: its own random stream, derived from the run's seed. */
export interface StrategyContext {
  readonly seed: number;
  readonly rng: Prng;
}

/** The pick "fire the earliest armed timer" (allowed only when `timer` is offered). */
export const TIMER: unique symbol = Symbol("timer");

/** A step's choice: a task to run, or the timer. */
export type Pick = Task | typeof TIMER;

/** How a timer step is recorded in a schedule (no task has this id). */
export const TIMER_ID = 0xffff_ffff;

/** The schedule entry of a pick: the task's id, or `TIMER_ID`. */
export function pickId(pick: Pick): number {
  return pick === TIMER ? TIMER_ID : pick.id;
}

export interface Strategy {
  /** A short stable name, part of a replay token. */
  readonly name: string;
  /** Called once per run, before the first pick. */
  start(ctx: StrategyContext): void;
  /**
   * Picks one of `runnable` (non-empty, ordered by id) to run at `step`, or, when
   * `timer` is true, possibly `TIMER`: fire the earliest armed timer instead.
   */
  pick(runnable: readonly Task[], step: number, timer: boolean): Pick;
  /** Told of every task spawned, in spawn order (PCT gives each a priority). */
  onSpawn?(task: Task): void;
}
