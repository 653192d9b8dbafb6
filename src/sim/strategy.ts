/**
 * How the scheduler picks the next task: the seam every search strategy plugs into.
 *
 * Models the choice a real CPU scheduler (kernel/sched/) makes nondeterministically
 * from a tester's point of view. The scheduler hands a strategy the runnable tasks,
 * always ordered by task id, and records the pick; the picks are the schedule.
 */
import type { Prng } from "./rng.ts";
import type { Task } from "./task.ts";

/** What a strategy may draw on: its own random stream, derived from the run's seed. */
export interface StrategyContext {
  readonly seed: number;
  readonly rng: Prng;
}

export interface Strategy {
  /** A short stable name, part of a replay token. */
  readonly name: string;
  /** Called once per run, before the first pick. */
  start(ctx: StrategyContext): void;
  /** Picks one of `runnable` (non-empty, ordered by id) to run at `step`. */
  pick(runnable: readonly Task[], step: number): Task;
  /** Told of every task spawned, in spawn order (PCT gives each a priority). */
  onSpawn?(task: Task): void;
}
