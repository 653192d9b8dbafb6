/**
 * Systematic depth-first search over schedules with a preemption bound (iterative
 * context bounding, Musuvathi & Qadeer, PLDI 2007) and, optionally, sleep sets
 * (Godefroid 1996) to skip schedules that only reorder independent steps.
 *
 * Models no kernel file. The search keeps a stack of choice points, one per step of the
 * last run: the tasks tried there, in order, and which one is being explored. Each run
 * re-executes the scenario from scratch with a `DfsStrategy` that follows the stack as
 * a prefix and, past it, extends with the non-preemptive choice (the previous task if
 * it can still run, else the lowest id), pushing new choice points. After the run, the
 * deepest choice point with an untried alternative is advanced and everything below it
 * dropped. An alternative that switches away from a task that could still run costs
 * one preemption; alternatives that would exceed the bound are never tried.
 *
 * With sleep sets the kernel reports each step's footprint (src/sim/footprint.ts).
 * A choice point's sleep set holds tasks whose next step was already explored from an
 * equivalent state: alternatives explored earlier at the same point, and entries
 * inherited from the parent that the parent's step is independent of. Asleep tasks are
 * not tried; a run that reaches a point where every allowed task is asleep is covered
 * by earlier runs and is stopped there (a pruned run, not a schedule).
 *
 * The preemption bound makes naive sleep sets unsound (Coons, Musuvathi & McKinley,
 * "Bounded Partial-Order Reduction", OOPSLA 2013): the explored equivalent of a pruned
 * schedule may need more preemptions than the bound allows. So an explored alternative
 * only goes to sleep when no choice point in its subtree dropped an alternative for
 * the bound: its subtree then covers every schedule from there, whatever it costs.
 * A run cut short (a violation, the step bound) counts as such a drop. Without a
 * bound this is plain sleep sets; with one, reduction shrinks where the bound bites,
 * and no outcome the unreduced bounded search reaches is lost.
 *
 * Every complete run is a distinct schedule (runs differ at the choice point advanced),
 * so once the stack empties, the count of complete runs is the count of schedules
 * under the bound (without reduction) or of explored representatives (with it).
 *
 * Timers (free timing): where a timer is armed, firing it is one more alternative, tried
 * after the tasks. Firing it early always costs one preemption: it holds up every task
 * that could run while time passes, so a bound of 0 explores exactly the non-preemptive
 * schedules under nominal timing. The timer step leaves the last task current. Its
 * footprint is opaque (it may wake anyone, and which timer fires depends on every armed
 * one), so it never sleeps and wakes every sleeper: reduction stays sound.
 */
import type { Kernel, RunResult } from "../../sim/kernel.ts";
import type { FootprintRecorder } from "../../sim/footprint.ts";
import { TIMER, TIMER_ID, type Pick, type Strategy } from "../../sim/strategy.ts";
import type { Task } from "../../sim/task.ts";
import { isAsleep, sleepAfter, type SleepEntry, type StepFootprint } from "./sleepSet.ts";

export interface DfsOptions {
  /** Prune with sleep sets (needs `DfsStrategy.attach` on each run's kernel). Default false. */
  readonly sleepSets?: boolean;
}

interface ChoicePoint {
  /** Task ids (or TIMER_ID) in the order they are tried: the non-preemptive choice first. */
  readonly alternatives: readonly number[];
  /** Index into `alternatives` of the branch being explored. */
  current: number;
  /** Tasks asleep on arrival here. */
  readonly sleep: readonly SleepEntry[];
  /** Alternatives explored here whose subtree the bound never cut. */
  readonly explored: SleepEntry[];
  /** The footprint of the current alternative's step, as the last run recorded it. */
  footprint: StepFootprint | null;
  /** The bound dropped an alternative here or in a finished branch's subtree. */
  cut: boolean;
  /** The bound dropped an alternative in the current branch's subtree. */
  branchCut: boolean;
}

/** What the search has done so far. */
export interface DfsStats {
  /** Complete schedules run (each distinct). */
  readonly schedules: number;
  /** Runs stopped early because every allowed task was asleep. */
  readonly prunedRuns: number;
  /** Alternatives not tried at a choice point because the task was asleep there. */
  readonly prunedBranches: number;
}

/**
 * Whether a run ended before its schedule did (a violation, the step bound, an oracle's
 * stop): tasks could still run. Pass it to `finishRun`.
 */
export function runTruncated(kernel: Kernel, result: RunResult): boolean {
  return result.status !== "ok" || kernel.allTasks().some((t) => t.state === "runnable");
}

export class DfsSearch {
  readonly preemptionBound: number;
  readonly sleepSets: boolean;
  private readonly stack: ChoicePoint[] = [];
  private runs = 0;
  private pruned = 0;
  private skipped = 0;
  private done = false;
  private active: DfsStrategy | null = null;

  constructor(preemptionBound: number = Infinity, options: DfsOptions = {}) {
    if (!(preemptionBound >= 0)) {
      throw new RangeError(`preemption bound must be >= 0, got ${preemptionBound}`);
    }
    this.preemptionBound = preemptionBound;
    this.sleepSets = options.sleepSets ?? false;
  }

  /** Complete schedules run so far (each distinct). */
  get schedules(): number {
    return this.runs;
  }

  /** True once every schedule under the bound has been run or shown covered. */
  get exhausted(): boolean {
    return this.done;
  }

  get stats(): DfsStats {
    return { schedules: this.runs, prunedRuns: this.pruned, prunedBranches: this.skipped };
  }

  /** The strategy for the next run, or null when the space is exhausted. */
  nextRun(): DfsStrategy | null {
    if (this.done) return null;
    this.active = new DfsStrategy(this, this.stack);
    return this.active;
  }

  /** @internal a choice point skipped `n` asleep alternatives. */
  countSkipped(n: number): void {
    this.skipped += n;
  }

  /**
   * Call after each run: counts it and moves to the next unexplored branch. Say
   * `truncated` when the run ended before the schedule did (`runTruncated`): its
   * branch then never goes to sleep. Returns true for a complete schedule, false for
   * a run stopped as covered by sleep sets (its outcome is no schedule's: ignore it).
   */
  finishRun(truncated = false): boolean {
    const complete = this.active?.stoppedCovered !== true;
    this.active = null;
    if (complete) this.runs++;
    else this.pruned++;
    // A run cut short (a violation, the step bound) left its subtree unexplored.
    const top = this.stack[this.stack.length - 1];
    if (truncated && complete && top !== undefined) top.branchCut = true;
    this.backtrack();
    return complete;
  }

  private backtrack(): void {
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1] as ChoicePoint;
      this.closeBranch(top);
      if (top.current + 1 < top.alternatives.length) {
        top.current++;
        top.footprint = null;
        top.branchCut = false;
        return;
      }
      this.stack.pop();
      const parent = this.stack[this.stack.length - 1];
      if (parent !== undefined) parent.branchCut ||= top.cut;
    }
    this.done = true;
  }

  /** The current branch is fully explored: it may put its task to sleep for the next. */
  private closeBranch(point: ChoicePoint): void {
    point.cut ||= point.branchCut;
    const footprint = point.footprint;
    if (!this.sleepSets || point.branchCut || footprint === null || footprint.opaque) return;
    point.explored.push({ task: point.alternatives[point.current] as number, footprint });
  }
}

/** One run of a DFS: follows the stack, then extends it; records step footprints. */
export class DfsStrategy implements Strategy, FootprintRecorder {
  readonly name = "dfs";
  /** True when the run was stopped because every allowed task was asleep. */
  stoppedCovered = false;
  private previous = -1;
  private preemptions = 0;
  private step = -1;

  constructor(
    private readonly search: DfsSearch,
    private readonly stack: ChoicePoint[],
  ) {}

  /** Makes `kernel` report step footprints here, when the search uses sleep sets. */
  attach(kernel: Kernel): void {
    if (this.search.sleepSets) kernel.recordFootprints(this);
  }

  start(): void {
    this.previous = -1;
    this.preemptions = 0;
    this.step = -1;
    this.stoppedCovered = false;
  }

  covered(runnable: readonly Task[], step: number, timer: boolean): boolean {
    if (this.stack[step] !== undefined) return false;
    const point = this.newChoicePoint(runnable, step, timer);
    if (point.alternatives.length > 0) {
      this.stack.push(point);
      return false;
    }
    const parent = this.stack[step - 1];
    if (parent !== undefined) parent.branchCut ||= point.cut;
    this.stoppedCovered = true;
    return true;
  }

  pick(runnable: readonly Task[], step: number, timer: boolean): Pick {
    let point = this.stack[step];
    if (point === undefined) {
      point = this.newChoicePoint(runnable, step, timer);
      this.stack.push(point);
    }
    const id = point.alternatives[point.current];
    const chosen =
      id === TIMER_ID ? (timer ? TIMER : undefined) : runnable.find((t) => t.id === id);
    if (chosen === undefined) {
      throw new Error(`DFS replay diverged at step ${step}: ${String(id)} cannot be picked`);
    }
    if (id === TIMER_ID || (this.previousRunnable(runnable) && id !== this.previous)) {
      this.preemptions++;
    }
    if (chosen !== TIMER) this.previous = chosen.id;
    this.step = step;
    return chosen;
  }

  begin(task: Task | null, declared: boolean): void {
    const point = this.stack[this.step] as ChoicePoint;
    point.footprint = { opaque: task === null || !declared, keys: [] };
  }

  touch(key: string): void {
    const footprint = this.stack[this.step]?.footprint;
    if (footprint !== undefined && footprint !== null && !footprint.opaque) {
      footprint.keys.push(key);
    }
  }

  opaque(): void {
    const footprint = this.stack[this.step]?.footprint;
    if (footprint !== undefined && footprint !== null) footprint.opaque = true;
  }

  private previousRunnable(runnable: readonly Task[]): boolean {
    return this.previous >= 0 && runnable.some((t) => t.id === this.previous);
  }

  private newChoicePoint(runnable: readonly Task[], step: number, timer: boolean): ChoicePoint {
    const parent = this.stack[step - 1];
    const sleep =
      parent === undefined
        ? []
        : sleepAfter([...parent.sleep, ...parent.explored], parent.footprint);
    const { ids, cut } = this.allowed(runnable, timer);
    const alternatives = ids.filter((id) => !isAsleep(sleep, id));
    this.search.countSkipped(ids.length - alternatives.length);
    return {
      alternatives,
      current: 0,
      sleep,
      explored: [],
      footprint: null,
      cut,
      branchCut: false,
    };
  }

  /**
   * The picks the bound allows here, non-preemptive choice first and the timer last;
   * cut if it dropped any.
   */
  private allowed(runnable: readonly Task[], timer: boolean): { ids: number[]; cut: boolean } {
    const canPreempt = this.preemptions + 1 <= this.search.preemptionBound;
    const timers = timer && canPreempt ? [TIMER_ID] : [];
    const timerCut = timer && !canPreempt;
    if (!this.previousRunnable(runnable)) {
      return { ids: [...runnable.map((t) => t.id), ...timers], cut: timerCut };
    }
    if (canPreempt) {
      const rest = runnable.filter((t) => t.id !== this.previous).map((t) => t.id);
      return { ids: [this.previous, ...rest, ...timers], cut: false };
    }
    return { ids: [this.previous], cut: runnable.length > 1 || timerCut };
  }
}
