/**
 * A simulated thread of control: a user thread, a kworker, the NIC's fault handler.
 *
 * Models the parts of struct task_struct (include/linux/sched.h) the simulation needs:
 * a name, a run state, the locks it holds (lockdep's held_locks), its preempt count
 * (atomic context) and a pending fatal signal. The body is a generator: each `yield` is
 * a point where the scheduler may switch to another task, and code between two yields
 * runs atomically.
 */
import type { HeldLock } from "./lockdep.ts";

/** What a task yields: a label for the trace, or nothing. */
export type TaskYield = string | undefined;

/** A kernel function that may sleep or be preempted; call it with `yield*`. */
export type KGen<R = void> = Generator<TaskYield, R, void>;

/** Which part of the simulated world a task belongs to (a Perfetto track group). */
export type TaskGroupKind = "host" | "process" | "device";

/** The group a task belongs to, e.g. `{ kind: "process", name: "host0/pid 100" }`. */
export interface TaskGroup {
  readonly kind: TaskGroupKind;
  readonly name: string;
}

export type TaskState = "runnable" | "blocked" | "done";

/** Something a blocked task waits on; `describe` names it in a deadlock report. */
export interface WaitChannel {
  describe(): string;
  /**
   * Idle waits (a kworker with no work, a device with no event) are not deadlocks: a
   * run whose only blocked tasks wait idly has simply finished.
   */
  readonly idle?: boolean;
}

export class Task {
  state: TaskState = "runnable";
  /** The channel a blocked task waits on. */
  waitingOn: WaitChannel | null = null;
  /** Incremented at every block, so a stale wake-up from an old wait is ignored. */
  blockSeq = 0;
  /** Set when the last wait ended by its timeout rather than a wake-up. */
  timedOut = false;
  /** Cancels the pending timeout of the current wait, if any. */
  cancelTimeout: (() => void) | null = null;
  /** Whether the current wait may be ended by a fatal signal. */
  killableWait = false;
  /** SIGKILL has been sent: killable waits end early and report it. */
  fatalSignal = false;
  /** Whether the task has taken its first step (a task killed before it never runs). */
  started = false;
  /** Locks held or being acquired, innermost last (lockdep's held_locks). */
  readonly heldLocks: HeldLock[] = [];
  /** Spinlocks held: nonzero means atomic context, where sleeping is a violation. */
  atomicDepth = 0;
  /** Nested local_irq_save()s (spin_lock_irqsave): nonzero means hard IRQs are off. */
  hardirqsOff = 0;
  /** The task is a hard IRQ handler (between irq_enter and irq_exit). */
  inHardirq = false;
  /** Tasks waiting in join() for this one to end. */
  readonly joiners: Task[] = [];
  /**
   * The generator the scheduler resumes; set once, right after construction. What it
   * returns is dropped, so any kernel function can be a thread's whole body.
   */
  body: KGen<unknown> = notStarted();
  /** The step at which the task ended, or -1. */
  endStep = -1;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly group: TaskGroup,
    readonly parent: Task | null,
  ) {}

  /** `name` plus id, unambiguous in reports when names repeat. */
  get label(): string {
    return `${this.name}#${this.id}`;
  }
}

/**
 * Thrown where a task with a pending SIGKILL would return to user mode
 * (`Kernel.exitToUserMode`): the task ends there, as do_exit() ends a killed thread.
 * The scheduler treats it as a normal end, not as an error.
 */
export class TaskExit extends Error {
  constructor(readonly task: string) {
    super(`${task} exits on SIGKILL`);
    this.name = "TaskExit";
  }
}

function* notStarted(): KGen {
  yield;
  throw new Error("task body was never set");
}
