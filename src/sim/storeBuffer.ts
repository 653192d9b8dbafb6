/**
 * A CPU's store buffer: plain stores that other CPUs may see late, and out of order,
 * with write barriers as the only thing that orders them.
 *
 * Models the store side of Documentation/memory-barriers.txt as weakly ordered CPUs
 * (arm64, POWER) behave: a plain store (WRITE_ONCE or a bare assignment) leaves the CPU
 * into its buffer and becomes visible to the others at some later moment; two plain
 * stores with no barrier between them may become visible in either order; smp_wmb()
 * orders every store before it ahead of every store after it; smp_store_release(p, v) is
 * smp_wmb() then the store. Each buffered store becomes visible in a step of its own (a
 * task `store:<what>`), so the explorer chooses when, and the order where no barrier
 * decides it.
 *
 * Used only where a publication protocol depends on the order (registration publishing
 * an MR: umem->private, num_pending_prefetch, mr->live). Everywhere else a store is
 * visible at once, in the step that makes it.
 *
 * Simplifications: loads are never reordered (the reader's smp_rmb() and
 * smp_load_acquire() hold by construction; the model cannot show a bug that only a
 * reordered load would); the writer reads its own buffered stores only after draining
 * them (`drain`), which stands for the full barrier of the lock or atomic operation the
 * code takes next, and every user of this file drains before it leaves the function
 * whose stores it buffered.
 */
import type { Kernel } from "./kernel.ts";
import { WaitQueueHead } from "./sync/waitQueue.ts";
import type { KGen } from "./task.ts";

interface BufferedStore {
  readonly epoch: number;
  visible: boolean;
}

/** One writer's buffer: the stores it made that other CPUs may not see yet. */
export class StoreBuffer {
  private epoch = 0;
  private readonly stores: BufferedStore[] = [];
  private readonly drained: WaitQueueHead;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
  ) {
    this.drained = new WaitQueueHead(k, `store_buffer(${name})`);
  }

  /**
   * A plain store: `apply` makes it visible, in a step of its own, once every store
   * before the last barrier is visible.
   */
  store(what: string, apply: () => void): void {
    const entry: BufferedStore = { epoch: this.epoch, visible: false };
    this.stores.push(entry);
    const before = (): boolean => this.stores.every((s) => s.epoch >= entry.epoch || s.visible);
    this.k.spawn(`store:${what}`, { kind: "host", name: "store buffers" }, () =>
      this.becomeVisible(entry, what, before, apply),
    );
  }

  private *becomeVisible(
    entry: BufferedStore,
    what: string,
    before: () => boolean,
    apply: () => void,
  ): KGen {
    // The task's first step is the moment the store becomes visible (when nothing
    // before the last barrier is still in flight): the explorer picks it.
    yield* this.drained.waitEvent(before);
    apply();
    entry.visible = true;
    this.k.event("store visible", { store: what, buffer: this.name });
    this.drained.wakeUp();
  }

  /** smp_wmb(): the stores so far become visible before any store made after. */
  smpWmb(): void {
    this.epoch++;
  }

  /** smp_store_release(): smp_wmb(), then a plain store. */
  storeRelease(what: string, apply: () => void): void {
    this.smpWmb();
    this.store(what, apply);
  }

  /** The full barrier that follows: wait until every buffered store is visible. */
  *drain(): KGen {
    yield* this.drained.waitEvent(() => this.stores.every((s) => s.visible));
    this.stores.length = 0;
  }
}
