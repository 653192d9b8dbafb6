/**
 * What virtual time means to a run: one nominal timeline, or timers under the
 * strategy's control.
 *
 * Models no kernel file. Model code runs in zero virtual time; time moves by explicit
 * costs and by timers (sleeps, timeouts, packets in flight).
 *
 * - `nominal`: the clock jumps to the next timer only when no task can run, so every
 *   sleep and cost is exact and two tasks interleave only when both are runnable at the
 *   same virtual instant. One run shows the cost model's timeline (`odpsim run`).
 * - `free`: firing the earliest armed timer is one more choice the strategy makes at
 *   each step, beside the runnable tasks (controlled nondeterminism, as Coyote treats
 *   timers). Choosing it moves the clock to that deadline while the runnable tasks have
 *   not run yet: they were slow, preempted, interrupted. Time stays monotone, and a sleep
 *   or a cost becomes a lower bound, as on a real machine; timeouts can fire before the
 *   event they wait for. Every order of timed events becomes reachable (`odpsim explore`).
 */

export type Timing = "nominal" | "free";

export const TIMINGS: readonly Timing[] = ["nominal", "free"];

/** A single run's default: the cost model's timeline. */
export const DEFAULT_RUN_TIMING: Timing = "nominal";

/** A search's default: every order of timed events. */
export const DEFAULT_EXPLORE_TIMING: Timing = "free";

export function isTiming(value: unknown): value is Timing {
  return value === "nominal" || value === "free";
}
