/**
 * Workqueues (kernel/workqueue.c): deferred work run by kworker tasks.
 *
 * queue_work() adds a work item unless it is already pending; one of the queue's
 * kworkers runs it later, in its own task. A work item never runs concurrently with
 * itself: requeued while running, it runs again after. flush_work() waits for the
 * instance pending or running when it was called; cancel_work_sync() removes a pending
 * instance and waits for a running one.
 *
 * Idle kworkers wait on an idle channel, so a run whose only waiting tasks are idle
 * kworkers has finished, not deadlocked.
 */
import { KernelGlobal, type Kernel } from "../kernel.ts";
import type { KGen, Task } from "../task.ts";
import { WaitQueueHead } from "./waitQueue.ts";

/** struct work_struct: a function to run later. */
export class WorkStruct {
  pending = false;
  running: Task | null = null;
  /** Completed runs, so a flush can tell "the run I waited for has ended". */
  generation = 0;

  constructor(
    readonly name: string,
    readonly fn: () => KGen,
  ) {}
}

export interface WorkqueueOptions {
  /** Number of kworker tasks (max_active). Default 1: an ordered queue. */
  readonly workers?: number;
}

export class Workqueue {
  private readonly queue: WorkStruct[] = [];
  private readonly more: WaitQueueHead;
  private readonly done: WaitQueueHead;
  private destroyed = false;
  private workersRunning = 0;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
    options: WorkqueueOptions = {},
  ) {
    this.more = new WaitQueueHead(k, `${name}.work`, true);
    this.done = new WaitQueueHead(k, `${name}.done`);
    const workers = options.workers ?? 1;
    for (let i = 0; i < workers; i++) {
      k.spawn(`kworker/${name}:${i}`, { kind: "host", name: "kworkers" }, () => this.worker());
    }
  }

  /** queue_work(): false if `work` was already pending. */
  queueWork(work: WorkStruct): boolean {
    if (this.destroyed) throw new Error(`queue_work on destroyed workqueue ${this.name}`);
    if (work.pending) return false;
    work.pending = true;
    this.queue.push(work);
    this.more.wakeUp();
    return true;
  }

  /** flush_work(): waits for the pending or running instance; false if idle. */
  *flushWork(work: WorkStruct): KGen<boolean> {
    if (!work.pending && work.running === null) return false;
    const target = work.generation + (work.pending && work.running !== null ? 2 : 1);
    yield* this.done.waitEvent(() => work.generation >= target);
    return true;
  }

  /** cancel_work(): removes a pending instance; true if there was one. */
  cancelWork(work: WorkStruct): boolean {
    if (!work.pending) return false;
    work.pending = false;
    this.queue.splice(this.queue.indexOf(work), 1);
    return true;
  }

  /** cancel_work_sync(): cancels and waits for a running instance. */
  *cancelWorkSync(work: WorkStruct): KGen<boolean> {
    const wasPending = this.cancelWork(work);
    if (work.running === null) return wasPending;
    const running = work.running;
    yield* this.done.waitEvent(() => work.running !== running);
    return true;
  }

  /** flush_workqueue(): waits until every item queued before the call has run. */
  *flush(): KGen {
    const targets = this.queue.map((w) => [w, w.generation + 1] as const);
    yield* this.done.waitEvent(() => targets.every(([w, gen]) => w.generation >= gen));
  }

  /** destroy_workqueue(): drains, then lets the kworkers exit. */
  *destroy(): KGen {
    yield* this.done.waitEvent(() => this.queue.length === 0 && this.workersRunning === 0);
    this.destroyed = true;
    this.more.wakeUp();
  }

  private *worker(): KGen {
    for (;;) {
      yield* this.more.waitEvent(() => this.destroyed || this.nextRunnable() >= 0);
      if (this.destroyed) return;
      const work = this.queue.splice(this.nextRunnable(), 1)[0] as WorkStruct;
      work.pending = false;
      work.running = this.k.currentTask();
      this.workersRunning++;
      try {
        yield* work.fn();
      } finally {
        work.running = null;
        work.generation++;
        this.workersRunning--;
        this.done.wakeUp();
        this.more.wakeUp();
      }
    }
  }

  /** The first queued item not running elsewhere (no self-concurrency), or -1. */
  private nextRunnable(): number {
    return this.queue.findIndex((w) => w.running === null);
  }
}

/** kernel/workqueue.c's system workqueues, started on first use so other runs keep their tasks. */
const SYSTEM_WQS = new KernelGlobal(
  "kernel/workqueue.c system_wq",
  () => new Map<string, Workqueue>(),
);

/** system_wq ("events") or system_unbound_wq ("events_unbound"), with two kworkers. */
export function systemWorkqueue(k: Kernel, name: "events" | "events_unbound"): Workqueue {
  const byName = k.global(SYSTEM_WQS);
  let wq = byName.get(name);
  if (wq === undefined) {
    wq = new Workqueue(k, name, { workers: 2 });
    byName.set(name, wq);
  }
  return wq;
}
