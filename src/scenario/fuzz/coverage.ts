/**
 * What a run of a generated program reached, as a set of coverage elements: the signal a
 * coverage-guided campaign (feedback.ts) keeps programs for.
 *
 * Models no kernel file: like syzkaller's signal, a record the real kernel does not keep.
 * Two kinds of element, both named without ids or addresses so that two runs compare:
 *
 * - `race A > B @ L`: two tasks' steps interleaved on one lock instance of class L, a
 *   step of the task doing A touching it, then the next step that touched it was of
 *   another task doing B. A task is doing the scenario operation it is between the
 *   `NAME:begin` and `NAME:end` events of (threads.ts), else it is its own label (a
 *   kworker, the OOM reaper) with numbers masked. The touches are the kernel's
 *   footprints (sim/footprint.ts: the locks a task holds when a step begins or ends).
 * - `lock H -> A`: a lock-order edge of the run's lockdep graph, class H held when class
 *   A was taken.
 */
import type { FootprintRecorder } from "../../sim/footprint.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { Task } from "../../sim/task.ts";

const LOCK_KEY = "lock:";
const BEGIN = ":begin";
const END = ":end";

/** A name with numbers masked, so instances of one kind compare equal. */
function masked(name: string): string {
  return name.replace(/\d+/g, "#");
}

/** The class part of a lock's instance name: `umem_mutex(umem_odp#9)` is `umem_mutex`. */
function lockClass(name: string): string {
  let stripped = name;
  let inner = stripped.replace(/\([^()]*\)/g, "");
  while (inner !== stripped) {
    stripped = inner;
    inner = stripped.replace(/\([^()]*\)/g, "");
  }
  return masked(stripped);
}

export class CoverageRecorder implements FootprintRecorder {
  private readonly found = new Set<string>();
  private readonly doing = new Map<Task, string>();
  private readonly lastTouch = new Map<string, { task: Task; actor: string }>();
  private current: Task | null = null;

  /** Starts recording `kernel`'s run (call before it runs). */
  attach(kernel: Kernel): void {
    kernel.recordFootprints(this);
    kernel.observeEvents((label, task) => {
      this.event(label, task);
    });
  }

  /** Adds the run's lock-order edges; call once the run is over. */
  finish(kernel: Kernel): void {
    for (const [held, taken] of kernel.lockdep.dependencies()) {
      this.found.add(`lock ${masked(held)} -> ${masked(taken)}`);
    }
  }

  /** The elements recorded so far. */
  elements(): ReadonlySet<string> {
    return this.found;
  }

  begin(task: Task | null): void {
    this.current = task;
  }

  touch(key: string): void {
    const task = this.current;
    if (task === null || !key.startsWith(LOCK_KEY)) return;
    const actor = this.actorOf(task);
    const last = this.lastTouch.get(key);
    if (last !== undefined && last.task !== task) {
      this.found.add(`race ${last.actor} > ${actor} @ ${lockClass(key.slice(LOCK_KEY.length))}`);
    }
    if (last?.task !== task || last.actor !== actor) this.lastTouch.set(key, { task, actor });
  }

  opaque(): void {
    // An opaque step touched nothing a key names: it adds no element.
  }

  covered(): boolean {
    return false;
  }

  private event(label: string, task: Task | null): void {
    if (task === null) return;
    if (label.endsWith(BEGIN)) this.doing.set(task, label.slice(0, -BEGIN.length));
    else if (label.endsWith(END)) this.doing.delete(task);
  }

  private actorOf(task: Task): string {
    return this.doing.get(task) ?? masked(task.label);
  }
}
