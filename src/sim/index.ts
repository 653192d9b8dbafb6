/**
 * The simulation kernel's public surface: everything higher layers (mm, rdma, check)
 * may use. Nothing here knows about memory or RDMA.
 */
export { VirtualClock, NSEC_PER_MSEC, NSEC_PER_SEC, NSEC_PER_USEC } from "./clock.ts";
export { Kasan, KObject, type ObjectSite } from "./kasan.ts";
export {
  Kernel,
  SpinWait,
  type KernelOptions,
  type RunResult,
  type RunStatus,
  type TaskFn,
} from "./kernel.ts";
export { Lockdep, type HeldLock, type LockClass, type LockInstance } from "./lockdep.ts";
export { Prng } from "./rng.ts";
export type { Strategy, StrategyContext } from "./strategy.ts";
export { FirstRunnable } from "./strategies/firstRunnable.ts";
export { ReplaySchedule } from "./strategies/replay.ts";
export { UniformRandom } from "./strategies/uniformRandom.ts";
export { Completion } from "./sync/completion.ts";
export { Kref } from "./sync/kref.ts";
export { Mutex } from "./sync/mutex.ts";
export { RwSemaphore } from "./sync/rwsem.ts";
export { Spinlock } from "./sync/spinlock.ts";
export { SrcuStruct } from "./sync/srcu.ts";
export { WaitList } from "./sync/waitList.ts";
export { WaitQueueHead } from "./sync/waitQueue.ts";
export { WorkStruct, Workqueue, type WorkqueueOptions } from "./sync/workqueue.ts";
export {
  Task,
  type KGen,
  type TaskGroup,
  type TaskGroupKind,
  type TaskState,
  type TaskYield,
  type WaitChannel,
} from "./task.ts";
export { Trace, type TraceEntry, type TraceFields, type TraceTaskInfo } from "./trace.ts";
export {
  KernelBug,
  type InternalError,
  type SimViolationKind,
  type Violation,
  type ViolationKind,
} from "./violation.ts";
