/**
 * The simulation kernel: tasks, the scheduler loop, blocking, time and reporting.
 *
 * Models the scheduler core (kernel/sched/core.c: schedule(), try_to_wake_up(),
 * set_current_state()) for tasks that are generators. One step = one resumption of one
 * task, up to its next `yield`. The strategy picks which runnable task takes the step;
 * the pick is recorded, and the recording replays the run exactly.
 *
 * A task blocks in two moves, like set_current_state() + schedule():
 *
 *     k.block(channel, timeoutNs?)   // no longer runnable; optional timeout armed
 *     yield label                    // give the CPU away
 *
 * and is made runnable again by `k.wake(task)` (try_to_wake_up) or by its timeout.
 *
 * Time (timing.ts): under nominal timing the clock jumps to the next timer only when no
 * task can run. Under free timing the strategy is also offered the timer at every step
 * where one is armed; picking it is a step of no task (`TIMER_ID` in the schedule, task
 * -1 in the trace) that moves the clock to the earliest deadline and fires what is due:
 *
 *     runnable: nic, cpu   armed: cpu's sleep until t=20us
 *     pick TIMER   ->   t = 20us, cpu woken, nic has simply not run yet
 *
 * The loop ends when no task can run and no timer is armed. Tasks still blocked then,
 * other than idle ones (a kworker without work), are a deadlock.
 */
import { VirtualClock } from "./clock.ts";
import { taskKey, type FootprintRecorder } from "./footprint.ts";
import { Kasan } from "./kasan.ts";
import { Lockdep } from "./lockdep.ts";
import { Prng } from "./rng.ts";
import { TIMER, TIMER_ID, type Strategy } from "./strategy.ts";
import { UniformRandom } from "./strategies/uniformRandom.ts";
import { Task, TaskExit, type KGen, type TaskGroup, type WaitChannel } from "./task.ts";
import { DEFAULT_RUN_TIMING, type Timing } from "./timing.ts";
import { TIMER_TASK, Trace, type TraceFields } from "./trace.ts";
import { KernelBug, type InternalError, type Violation, type ViolationKind } from "./violation.ts";

export interface KernelOptions {
  /** Derives every random choice of the run. Default 0. */
  readonly seed?: number;
  /** Default: uniform random. */
  readonly strategy?: Strategy;
  /** The run ends with status `step_bound` after this many steps. Default 1,000,000. */
  readonly maxSteps?: number;
  /**
   * The per-step work budget: units of work (`stepWork`) one step may do before the
   * run ends as an internal error, a loop that never yields. Default 1,000,000.
   */
  readonly maxStepWork?: number;
  /** Whether the strategy may fire timers early (timing.ts). Default "nominal". */
  readonly timing?: Timing;
  /** Record a trace entry per step and per event. Default false (fast). */
  readonly trace?: boolean;
  /** Stop at the first violation. Default true. */
  readonly stopOnViolation?: boolean;
  /**
   * Historical bugs switched back on, by catalog id. Model code asks `hasDefect(id)`
   * at the one place where the buggy kernel differed from the fixed one.
   */
  readonly defects?: Iterable<string>;
  /**
   * Fault injection: site name -> chance that one visit of the site fails, drawn from
   * the model's PRNG (so the seed decides which visits fail). Model code asks
   * `shouldFail(site)` at the kernel's failure points.
   */
  readonly faultSites?: ReadonlyMap<string, number>;
  /**
   * Injections to skip, by their number in the run (0 for the first fault the run
   * would inject): how shrinking removes faults one at a time. The PRNG is drawn
   * exactly as without suppression, so the rest of the run's randomness is unchanged.
   */
  readonly suppressedFaults?: Iterable<number>;
}

/**
 * A global of some layer above the simulator — what a static variable of a kernel file
 * is (mm/mmu_notifier.c's srcu, the pid allocator) — one per simulated machine, made
 * on first use by `init`. Layers declare one as a module constant and read it with
 * `k.global(G)`, so no state outlives its kernel or leaks between runs.
 */
export class KernelGlobal<T> {
  constructor(
    /** For debugging: the kernel variable it stands for. */
    readonly name: string,
    readonly init: (k: Kernel) => T,
  ) {}
}

export type RunStatus = "ok" | "violation" | "step_bound" | "internal_error";

export interface RunResult {
  readonly status: RunStatus;
  readonly steps: number;
  readonly timeNs: number;
  readonly violations: readonly Violation[];
  readonly internalError: InternalError | null;
  /** The id of the task run at each step: replaying it reproduces the run. */
  readonly schedule: Uint32Array;
  readonly trace: Trace | null;
}

/** A task's body: called once at spawn with the new task, returns its generator. */
export type TaskFn = (task: Task) => KGen<unknown>;

/** Sees an event's label and the task whose step made it (null: a timer step). */
export type EventListener = (label: string, task: Task | null) => void;

const DEFAULT_MAX_STEPS = 1_000_000;
const DEFAULT_MAX_STEP_WORK = 1_000_000;

/**
 * A step that did more than its work budget without yielding: the soft-lockup
 * watchdog's verdict. Not a KernelBug: a model loop that never yields is an odpsim bug
 * (or a lockup the model should name where it happens), so it is an internal error.
 */
class StepWorkExceeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StepWorkExceeded";
  }
}
const STRATEGY_STREAM = 1;
const MODEL_STREAM = 2;

export class Kernel {
  readonly seed: number;
  readonly clock = new VirtualClock();
  /** Randomness for the model (fault injection), independent of the strategy's stream. */
  readonly rng: Prng;
  readonly lockdep: Lockdep;
  readonly kasan: Kasan;
  readonly trace: Trace | null;
  readonly strategy: Strategy;
  readonly maxSteps: number;
  readonly maxStepWork: number;
  readonly timing: Timing;
  readonly stopOnViolation: boolean;
  readonly defects: ReadonlySet<string>;
  readonly faultSites: ReadonlyMap<string, number>;
  readonly suppressedFaults: ReadonlySet<number>;
  /** Faults injected so far (oracles excuse errors a run was forced into). */
  faultsInjected = 0;
  /** Injections the run has come to, suppressed or not: the next one's number. */
  faultsDrawn = 0;
  /** False while a scenario sets itself up: injection targets the run, not its setup. */
  faultsArmed = true;

  /** The task taking the current step, or null outside any step. */
  current: Task | null = null;
  private stepCount = 0;
  /** Work units done in the current step (stepWork); reset as each step begins. */
  private stepWorkDone = 0;
  private readonly tasks: Task[] = [];
  /** Runnable tasks, kept ordered by id so strategies see a stable order. */
  private readonly runnable: Task[] = [];
  private readonly violationList: Violation[] = [];
  private internalError: InternalError | null = null;
  private stopped = false;
  private schedule = new Uint32Array(1024);
  private readonly globals = new Map<KernelGlobal<unknown>, unknown>();
  private started = false;
  /** Set only while a systematic search records step footprints (see footprint.ts). */
  private footprints: FootprintRecorder | null = null;
  private eventListener: EventListener | null = null;
  /** Tasks that promised to record what they touch (`declareFootprint`). */
  private readonly footprintTasks = new Set<Task>();

  constructor(options: KernelOptions = {}) {
    this.seed = options.seed ?? 0;
    const root = new Prng(this.seed);
    this.strategy = options.strategy ?? new UniformRandom();
    this.strategy.start({ seed: this.seed, rng: root.fork(STRATEGY_STREAM) });
    this.rng = root.fork(MODEL_STREAM);
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxStepWork = options.maxStepWork ?? DEFAULT_MAX_STEP_WORK;
    this.timing = options.timing ?? DEFAULT_RUN_TIMING;
    this.stopOnViolation = options.stopOnViolation ?? true;
    this.defects = new Set(options.defects ?? []);
    this.faultSites = options.faultSites ?? new Map();
    this.suppressedFaults = new Set(options.suppressedFaults ?? []);
    this.trace = options.trace === true ? new Trace() : null;
    this.lockdep = new Lockdep(this);
    this.kasan = new Kasan(this);
  }

  /** The value of `g` on this machine, made on first use. */
  global<T>(g: KernelGlobal<T>): T {
    if (!this.globals.has(g)) this.globals.set(g, g.init(this));
    return this.globals.get(g) as T;
  }

  /** The number of steps taken so far (the index of the next step). */
  get stepNow(): number {
    return this.stepCount;
  }

  /** Whether the historical bug `id` is switched on for this run. */
  hasDefect(id: string): boolean {
    return this.defects.has(id);
  }

  /**
   * Whether this visit of the failure point `site` fails (fault injection). Sites not
   * enabled never fail and draw nothing from the PRNG, so enabling none leaves every
   * run as it was.
   */
  shouldFail(site: string): boolean {
    const p = this.faultSites.get(site);
    if (p === undefined || p <= 0 || !this.faultsArmed) return false;
    this.footprints?.touch("kernel.rng"); // the order of draws decides which visits fail
    if (!this.rng.chance(p)) return false;
    return this.injectFault(site);
  }

  /**
   * Injects the fault the run has come to at `site` (already drawn), unless shrinking
   * suppressed it by number; true when it is injected.
   */
  injectFault(site: string): boolean {
    const number = this.faultsDrawn++;
    if (this.suppressedFaults.has(number)) {
      this.event("fault_suppressed", { site, number });
      return false;
    }
    this.faultsInjected++;
    this.event("fault_injected", { site, number });
    return true;
  }

  /** The label of the current task, or null outside any step. */
  currentLabel(): string | null {
    return this.current?.label ?? null;
  }

  /** The current task; calling this outside a task is an odpsim bug. */
  currentTask(): Task {
    const task = this.current;
    if (task === null) throw new Error("a blocking primitive was used outside any task");
    return task;
  }

  /** Creates a runnable task. A task spawned by a running task records it as parent. */
  spawn(name: string, group: TaskGroup, fn: TaskFn): Task {
    const id = this.tasks.length;
    this.footprints?.touch("kernel.tasks"); // ids follow spawn order
    const task = new Task(id, name, group, this.current);
    task.body = fn(task);
    this.tasks.push(task);
    this.runnable.push(task); // ids only grow, so pushing keeps the order
    this.trace?.addTask({ id, name, group, parent: this.current?.id ?? null });
    this.strategy.onSpawn?.(task);
    return task;
  }

  /** Every task ever spawned, by id. */
  allTasks(): readonly Task[] {
    return this.tasks;
  }

  /** Feeds `recorder` every step's footprint from now on (before `run`). */
  recordFootprints(recorder: FootprintRecorder): void {
    this.footprints = recorder;
  }

  /**
   * Promises that `task` touches shared state only through kernel primitives and
   * blocking locks, or under `touch(key)`: its steps get precise footprints instead of
   * being opaque. See footprint.ts for what is recorded without help.
   */
  declareFootprint(task: Task): void {
    this.footprintTasks.add(task);
  }

  /** The current step touches the shared object named `key` (free unless recording). */
  touch(key: string): void {
    this.footprints?.touch(key);
  }

  /**
   * Marks the current task blocked on `channel`; the caller must `yield` next. With
   * `timeoutNs`, the task wakes by itself then with `timedOut` set.
   */
  block(channel: WaitChannel, timeoutNs?: number, killable = false): void {
    const task = this.currentTask();
    if (task.atomicDepth > 0 && channel.idle !== true && !(channel instanceof SpinWait)) {
      this.reportSleepInAtomic(task, channel.describe());
    }
    if (this.footprints !== null) this.touchTask(task, timeoutNs !== undefined);
    task.state = "blocked";
    task.waitingOn = channel;
    task.timedOut = false;
    task.killableWait = killable;
    const seq = ++task.blockSeq;
    this.removeRunnable(task);
    if (timeoutNs !== undefined) {
      task.cancelTimeout = this.clock.arm(timeoutNs, () => {
        if (task.state === "blocked" && task.blockSeq === seq) {
          this.makeRunnable(task);
          task.timedOut = true;
        }
      });
    }
  }

  /** try_to_wake_up(): makes a blocked task runnable. Returns false if it was not blocked. */
  wake(task: Task): boolean {
    if (this.footprints !== null) this.touchTask(task, false);
    if (task.state !== "blocked") return false;
    this.makeRunnable(task);
    return true;
  }

  /**
   * might_sleep(): a function that may sleep was entered; in atomic context (a
   * spinlock held) that is a violation even if this call would not have slept.
   */
  mightSleep(what: string): void {
    const task = this.current;
    if (task !== null && task.atomicDepth > 0) this.reportSleepInAtomic(task, what);
  }

  /** Sleeps for `ns` of virtual time (usleep_range / msleep). */
  *sleep(ns: number): KGen {
    this.mightSleep("sleep");
    this.block(timeWait, ns);
    yield "sleep";
  }

  /** Blocks until `task` has ended. */
  *join(task: Task): KGen {
    const me = this.currentTask();
    if (task === me) throw new Error(`${me.label} joins itself`);
    this.mightSleep("join");
    if (this.footprints !== null) this.touchTask(task, false);
    while (task.state !== "done") {
      task.joiners.push(me);
      this.block({ describe: () => `join of ${task.label}` });
      yield "join";
    }
  }

  /**
   * Sends SIGKILL: the task's killable waits end early (they see `fatalSignal`), and
   * a task that has not started yet never runs.
   */
  kill(task: Task): void {
    if (this.footprints !== null) this.touchTask(task, false);
    task.fatalSignal = true;
    if (task.state === "blocked" && task.killableWait) this.makeRunnable(task);
  }

  /**
   * exit_to_user_mode(): a task about to run user code (a CPU access, the next system
   * call) with SIGKILL pending dies instead (throws TaskExit, which ends the task).
   * Model code calls it only at points where the task holds nothing of the kernel's.
   */
  exitToUserMode(): void {
    const task = this.current;
    if (task !== null && this.footprints !== null) this.touchTask(task, false);
    if (task?.fatalSignal === true) throw new TaskExit(task.label);
  }

  /**
   * Hands `listener` the label and task of every event from now on (before `run`), traced
   * or not: coverage-guided fuzzing follows the scenario's operations this way. Events
   * that callers build only while tracing (`k.trace !== null`) never reach it.
   */
  observeEvents(listener: EventListener): void {
    this.eventListener = listener;
  }

  /** An event inside the current step, for the trace (no cost when tracing is off). */
  event(label: string, fields?: TraceFields): void {
    this.eventListener?.(label, this.current);
    const trace = this.trace;
    if (trace === null) return;
    trace.record({
      step: this.stepCount,
      timeNs: this.clock.now(),
      task: this.current?.id ?? -1,
      kind: "event",
      label,
      ...(fields === undefined ? {} : { fields }),
    });
  }

  /**
   * One unit of work inside the current step: called on each iteration of the model's
   * loops that do not yield (list walks), as the soft-lockup watchdog (kernel/watchdog.c)
   * watches a CPU that does not schedule. Counted, never timed: a step past the budget
   * (`maxStepWork`) throws, and the run ends as an internal error at the same step on
   * every replay, instead of hanging at full CPU where the step bound cannot reach.
   */
  stepWork(what: string): void {
    if (++this.stepWorkDone <= this.maxStepWork) return;
    const task = this.current?.label ?? "no task";
    throw new StepWorkExceeded(
      `step ${this.stepCount} (${task}) did more than ${this.maxStepWork} units of work ` +
        `without yielding, in ${what}: a model loop that never ends`,
    );
  }

  /** Records a violation of the modelled system at the current step. */
  report(kind: ViolationKind, message: string, details: Record<string, unknown> = {}): void {
    this.violationList.push({
      kind,
      message,
      step: this.stepCount,
      timeNs: this.clock.now(),
      task: this.current?.label ?? null,
      details,
    });
    this.event("violation", { kind, message });
    this.footprints?.opaque(); // which step reports may hang on orders no key records
    if (this.stopOnViolation) this.stopped = true;
  }

  /** WARN_ON(): reports `message` when `condition` holds; returns the condition. */
  warnOn(condition: boolean, message: string, details?: Record<string, unknown>): boolean {
    if (condition) this.report("warn_on", message, details);
    return condition;
  }

  /** Violations so far. */
  get violations(): readonly Violation[] {
    return this.violationList;
  }

  /** Stops the run after the current step (an oracle that has seen enough). */
  stop(): void {
    this.stopped = true;
  }

  /** Runs until nothing can happen, a violation (if stopping), or the step bound. */
  run(): RunResult {
    if (this.started) throw new Error("Kernel.run() may be called once per kernel");
    this.started = true;
    let status: RunStatus = "ok";
    try {
      status = this.loop();
    } catch (error) {
      // The scheduler itself failed (a strategy, a timer callback): odpsim is broken.
      this.recordInternalError(error, null);
    }
    if (this.internalError !== null) status = "internal_error";
    else if (this.violationList.length > 0) status = "violation";
    return {
      status,
      steps: this.stepCount,
      timeNs: this.clock.now(),
      violations: this.violationList,
      internalError: this.internalError,
      schedule: this.schedule.slice(0, this.stepCount),
      trace: this.trace,
    };
  }

  /** The scheduler loop: "ok" when nothing can happen any more, or "step_bound". */
  private loop(): RunStatus {
    while (!this.stopped) {
      if (this.clock.hasDue()) {
        this.clock.fireDue();
        this.footprints?.opaque(); // timers act outside any step: blame the last one
      }
      if (this.runnable.length === 0) {
        if (this.clock.jumpToNextTimer()) continue;
        this.checkDeadlock();
        break;
      }
      if (this.stepCount >= this.maxSteps) return "step_bound";
      const timer = this.timing === "free" && this.clock.hasArmed();
      if (this.footprints?.covered(this.runnable, this.stepCount, timer) === true) break;
      const pick = this.strategy.pick(this.runnable, this.stepCount, timer);
      if (pick === TIMER) this.timerStep(timer);
      else this.runStep(pick);
    }
    return "ok";
  }

  /** Records an exception of odpsim itself (not a KernelBug) and stops the run. */
  private recordInternalError(error: unknown, task: Task | null, step = this.stepCount): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.internalError = {
      message: err.message,
      step,
      task: task?.label ?? null,
      ...(err.stack === undefined ? {} : { stack: err.stack }),
    };
    this.stopped = true;
  }

  /** Appends one pick to the recorded schedule. */
  private recordPick(id: number): void {
    const step = this.stepCount;
    if (step === this.schedule.length) {
      const grown = new Uint32Array(step * 2);
      grown.set(this.schedule);
      this.schedule = grown;
    }
    this.schedule[step] = id;
  }

  /** A step of no task: the clock jumps to the earliest deadline, which fires. */
  private timerStep(offered: boolean): void {
    if (!offered) throw new Error(`strategy ${this.strategy.name} fired a timer not offered`);
    const step = this.stepCount;
    this.stepWorkDone = 0;
    this.recordPick(TIMER_ID);
    this.footprints?.begin(null, false);
    const from = this.clock.now();
    this.clock.jumpToNextTimer();
    this.trace?.record({
      step,
      timeNs: this.clock.now(),
      task: TIMER_TASK,
      kind: "step",
      label: "timer",
      fields: { fromNs: from },
    });
    this.stepCount++;
  }

  private runStep(task: Task): void {
    const step = this.stepCount;
    this.stepWorkDone = 0;
    this.recordPick(task.id);
    this.current = task;
    if (this.footprints !== null) this.beginFootprint(task);
    let result: IteratorResult<string | undefined, unknown>;
    try {
      if (!task.started) {
        task.started = true;
        if (task.fatalSignal) throw new TaskExit(task.label);
      }
      result = task.body.next();
    } catch (error) {
      if (this.footprints !== null) this.touchHeldLocks(task);
      this.current = null;
      this.stepCount++;
      this.taskFailed(task, error, step);
      return;
    }
    if (this.trace !== null) {
      this.trace.record({
        step,
        timeNs: this.clock.now(),
        task: task.id,
        kind: "step",
        label: result.done === true ? "exit" : (result.value ?? ""),
      });
    }
    if (this.footprints !== null) this.touchHeldLocks(task);
    this.current = null;
    this.stepCount++;
    if (result.done === true) this.finish(task);
  }

  private taskFailed(task: Task, error: unknown, step: number): void {
    if (error instanceof TaskExit) {
      this.trace?.record({
        step,
        timeNs: this.clock.now(),
        task: task.id,
        kind: "step",
        label: "killed",
      });
    } else if (error instanceof KernelBug) {
      this.current = task;
      this.report(error.kind, error.message, { ...error.details });
      this.current = null;
    } else {
      this.recordInternalError(error, task, step);
    }
    this.finish(task);
  }

  private finish(task: Task): void {
    if (this.footprints !== null) this.touchTask(task, false);
    if (task.state === "runnable") this.removeRunnable(task);
    task.state = "done";
    task.endStep = this.stepCount;
    for (const joiner of task.joiners.splice(0)) this.wake(joiner);
  }

  private makeRunnable(task: Task): void {
    task.cancelTimeout?.();
    task.cancelTimeout = null;
    task.state = "runnable";
    task.waitingOn = null;
    task.timedOut = false;
    task.killableWait = false;
    const list = this.runnable;
    let i = list.length;
    while (i > 0 && (list[i - 1] as Task).id > task.id) i--;
    list.splice(i, 0, task);
  }

  private removeRunnable(task: Task): void {
    const i = this.runnable.indexOf(task);
    if (i >= 0) this.runnable.splice(i, 1);
  }

  private beginFootprint(task: Task): void {
    const recorder = this.footprints as FootprintRecorder;
    recorder.begin(task, this.footprintTasks.has(task));
    // Locks held on entry cover a release in this step; the first step reads the signal.
    this.touchHeldLocks(task);
    if (!task.started) recorder.touch(taskKey(task));
  }

  /** Held locks, including one being waited for: acquiring and releasing both write it. */
  private touchHeldLocks(task: Task): void {
    const recorder = this.footprints as FootprintRecorder;
    for (const held of task.heldLocks) recorder.touch(`lock:${held.lock.name}`);
  }

  /** A step reads or writes `task`'s run state; arming its timeout also orders timers. */
  private touchTask(task: Task, armsTimer: boolean): void {
    const recorder = this.footprints as FootprintRecorder;
    recorder.touch(taskKey(task));
    if (armsTimer) recorder.touch("kernel.clock");
  }

  private reportSleepInAtomic(task: Task, what: string): void {
    const spinlocks = task.heldLocks.map((h) => h.lock.name);
    this.report("sleep_in_atomic", `BUG: sleeping function called from atomic context: ${what}`, {
      task: task.label,
      held: spinlocks,
    });
  }

  private checkDeadlock(): void {
    const stuck = this.tasks.filter((t) => t.state === "blocked" && t.waitingOn?.idle !== true);
    if (stuck.length === 0) return;
    const lines = stuck.map(
      (t) =>
        `${t.label} waits on ${t.waitingOn?.describe() ?? "?"}` +
        ` holding [${this.lockdep.heldNames(t).join(", ")}]`,
    );
    this.report("deadlock", `deadlock: nothing can run\n  ${lines.join("\n  ")}`, {
      blocked: stuck.map((t) => ({
        task: t.label,
        waitsOn: t.waitingOn?.describe() ?? "?",
        holds: this.lockdep.heldNames(t),
      })),
    });
  }
}

/** The channel of a task that only waits for time to pass. */
const timeWait: WaitChannel = { describe: () => "a timer" };

/** A spinning waiter: blocks in the model, but spinning is legal in atomic context. */
export class SpinWait implements WaitChannel {
  constructor(private readonly what: string) {}
  describe(): string {
    return `spinning on ${this.what}`;
  }
}
