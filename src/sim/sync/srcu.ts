/**
 * struct srcu_struct (kernel/rcu/srcutree.c): sleepable read-copy-update.
 *
 * Readers enter with srcu_read_lock(), which returns an index they must hand back to
 * srcu_read_unlock(); readers may sleep inside. synchronize_srcu() waits for every
 * reader that entered before it started, and only those: a reader that enters while a
 * grace period is running does not hold it up. call_srcu() runs a callback after a
 * grace period, in its own task.
 *
 * The index here is the grace-period epoch the reader entered in; the kernel's is the
 * epoch's low bit. Keeping the whole epoch lets the model count readers exactly when
 * several grace periods overlap, which the kernel serializes with a mutex.
 */
import type { Kernel } from "../kernel.ts";
import type { KGen, WaitChannel } from "../task.ts";
import { WaitList } from "./waitList.ts";

export class SrcuStruct implements WaitChannel {
  private epoch = 0;
  /** Active readers per epoch. */
  private readonly readers = new Map<number, number>();
  private readonly waiters = new WaitList();
  private readonly syncLabel: string;
  private callbacks = 0;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
  ) {
    this.syncLabel = `synchronize_srcu(${name})`;
  }

  describe(): string {
    return `SRCU grace period of ${this.name}`;
  }

  /** srcu_read_lock(): returns the index for the matching unlock. */
  readLock(): number {
    const idx = this.epoch;
    this.readers.set(idx, (this.readers.get(idx) ?? 0) + 1);
    return idx;
  }

  /** srcu_read_unlock(). An index that no reader holds is a violation. */
  readUnlock(idx: number): void {
    const count = this.readers.get(idx) ?? 0;
    if (count === 0) {
      this.k.report("srcu_unbalanced", `srcu_read_unlock(${this.name}) with no reader at ${idx}`, {
        srcu: this.name,
        idx,
      });
      return;
    }
    if (count === 1) {
      this.readers.delete(idx);
      this.waiters.wakeAll(this.k);
    } else {
      this.readers.set(idx, count - 1);
    }
  }

  /** Readers currently inside a read-side critical section. */
  activeReaders(): number {
    let n = 0;
    for (const count of this.readers.values()) n += count;
    return n;
  }

  /** synchronize_srcu(): returns once every reader that began before it has left. */
  *synchronize(): KGen {
    const k = this.k;
    const task = k.currentTask();
    k.mightSleep(this.syncLabel);
    const boundary = ++this.epoch;
    yield this.syncLabel;
    while (this.hasReadersBefore(boundary)) {
      this.waiters.add(task);
      k.block(this);
      yield this.syncLabel;
    }
  }

  /** call_srcu(): runs `callback` in a new task after a grace period. */
  callSrcu(callback: () => KGen | undefined): void {
    const k = this.k;
    const boundary = ++this.epoch;
    const name = `srcu_cb:${this.name}:${++this.callbacks}`;
    k.spawn(name, { kind: "host", name: "rcu" }, (task) =>
      this.runCallback(task.label, boundary, callback),
    );
  }

  private *runCallback(label: string, boundary: number, callback: () => KGen | undefined): KGen {
    const k = this.k;
    while (this.hasReadersBefore(boundary)) {
      this.waiters.add(k.currentTask());
      k.block(this);
      yield `srcu grace period (${label})`;
    }
    const more = callback();
    if (more !== undefined) yield* more;
  }

  private hasReadersBefore(boundary: number): boolean {
    for (const [epoch, count] of this.readers) if (epoch < boundary && count > 0) return true;
    return false;
  }
}
