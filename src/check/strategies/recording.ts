/**
 * Wraps a strategy and notes, at each step, whether its pick was a preemption (a
 * switch away from a task that could still run) and whether it differed from what a
 * non-preemptive scheduler would have picked (a "decision").
 *
 * Models no kernel file. The preemption count of a schedule is the depth the shrinker
 * reports; the last decision tells how much of a schedule is needed to reproduce it.
 * Firing a timer early (free timing) is always a decision, since a non-preemptive
 * scheduler lets time move only when nothing can run, and always a preemption: every
 * task that could run is held up while time passes (DFS's bound counts it the same way).
 * The timer is one more choice at a choice point.
 */
import { TIMER, type Pick, type Strategy, type StrategyContext } from "../../sim/strategy.ts";
import type { Task } from "../../sim/task.ts";
import { nonPreemptiveChoice } from "./guidedReplay.ts";

export class Recording implements Strategy {
  readonly name: string;
  /** Steps whose pick preempted the previous task. */
  readonly preemptionSteps: number[] = [];
  /** Steps whose pick differed from the non-preemptive choice. */
  readonly decisionSteps: number[] = [];
  /** Distinct task ids that took at least one step, in order of first step. */
  readonly tasksRun: number[] = [];
  /** Steps where more than one pick was possible (PCT's k). */
  choicePoints = 0;
  private previous = -1;

  constructor(readonly inner: Strategy) {
    this.name = inner.name;
  }

  start(ctx: StrategyContext): void {
    this.preemptionSteps.length = 0;
    this.decisionSteps.length = 0;
    this.tasksRun.length = 0;
    this.choicePoints = 0;
    this.previous = -1;
    this.inner.start(ctx);
  }

  onSpawn(task: Task): void {
    this.inner.onSpawn?.(task);
  }

  pick(runnable: readonly Task[], step: number, timer: boolean): Pick {
    if (runnable.length + (timer ? 1 : 0) > 1) this.choicePoints++;
    const chosen = this.inner.pick(runnable, step, timer);
    const fallback = nonPreemptiveChoice(runnable, this.previous);
    if (chosen !== fallback) {
      this.decisionSteps.push(step);
      if (chosen === TIMER || fallback.id === this.previous) this.preemptionSteps.push(step);
    }
    if (chosen === TIMER) return chosen;
    if (!this.tasksRun.includes(chosen.id)) this.tasksRun.push(chosen.id);
    this.previous = chosen.id;
    return chosen;
  }

  get preemptions(): number {
    return this.preemptionSteps.length;
  }
}
