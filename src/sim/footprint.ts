/**
 * Step footprints: what one scheduler step touched, for searches that skip reorderings
 * of independent steps (sleep sets, Godefroid 1996).
 *
 * Models no kernel file: real kernels have no such record; it exists so a systematic
 * search can tell that two steps commute. The kernel feeds a recorder only when a
 * search attaches one (`Kernel.recordFootprints`), so ordinary runs pay one null check.
 *
 * A footprint is a set of string keys naming shared objects (a lock's name, `task#3`, a
 * key a scenario chose). Keys must be fixed when the object is created, so one object
 * has the same key in every run that shares the prefix that created it; two objects
 * sharing a key only make the search more conservative. A step is opaque (dependent
 * on every other step) unless its task was declared with `Kernel.declareFootprint`,
 * which promises that the task touches shared state only through what the kernel
 * records itself, or under an explicit `Kernel.touch(key)`.
 *
 * Recorded without help: the locks a task holds when its step begins or ends (so
 * blocking lock and unlock, and every step inside a critical section), blocking and
 * waking (the task's key), join and SIGKILL, spawning, fault-injection draws, and a
 * timeout's timer. A violation or a timer firing makes the step opaque. Not recorded,
 * so a declared task must touch them itself: a trylock or is-locked test (a failed
 * trylock holds nothing), reading or advancing the clock ("kernel.clock"), kernel
 * globals, and every other primitive (completions, wait queues, SRCU, workqueues).
 */
import type { Task } from "./task.ts";

export interface FootprintRecorder {
  /**
   * A step of `task` begins; `declared` says its task records what it touches. A timer
   * step (free timing) begins with `task` null and is opaque: firing timers may run any
   * callback, and which timer fires depends on every armed one.
   */
  begin(task: Task | null, declared: boolean): void;
  /** The running step touched the shared object named `key`. */
  touch(key: string): void;
  /** The last step had effects no key describes (a violation, a timer it let fire). */
  opaque(): void;
  /**
   * Asked before each pick: true when every continuation from here has been covered
   * by runs already made, so the kernel ends this run without picking. `timer` says
   * whether firing the timer is one of the choices.
   */
  covered(runnable: readonly Task[], step: number, timer: boolean): boolean;
}

/** The key of a task's scheduler state (blocked or not, pending signal, done). */
export function taskKey(task: Task): string {
  return `task#${task.id}`;
}
