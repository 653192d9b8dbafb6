/**
 * odpsim's public entry (`import { … } from "odpsim"`): what a user needs to write a
 * driver, a scenario around it and check it with the same explorer, oracles, reports
 * and replay odpsim's own catalog uses. Names are the kernel's, in camelCase.
 *
 * Models no kernel file. Everything not exported here is internal and may change; the
 * package's `exports` map offers only this module (and the CLI as the `odpsim` bin).
 */

// The simulation kernel: tasks, their generator type, object lifetimes, locks, SRCU.
export {
  Kernel,
  type KernelOptions,
  type RunResult,
  type RunStatus,
  type TaskFn,
} from "./sim/kernel.ts";
export { Task, type KGen, type TaskGroup } from "./sim/task.ts";
export { KObject, type ObjectSite } from "./sim/kasan.ts";
export { KernelBug, type Violation, type InternalError } from "./sim/violation.ts";
export { Mutex } from "./sim/sync/mutex.ts";
export { Spinlock } from "./sim/sync/spinlock.ts";
export { RwSemaphore } from "./sim/sync/rwsem.ts";
export { SrcuStruct } from "./sim/sync/srcu.ts";
export { Completion } from "./sim/sync/completion.ts";
export { WaitQueueHead } from "./sim/sync/waitQueue.ts";
export { Kref } from "./sim/sync/kref.ts";
export { Workqueue, WorkStruct } from "./sim/sync/workqueue.ts";
export { NSEC_PER_MSEC, NSEC_PER_SEC, NSEC_PER_USEC } from "./sim/clock.ts";
export type { Timing } from "./sim/timing.ts";
export { EAGAIN, EBUSY, EFAULT, EINVAL, ENOENT, ENOMEM, EPERM, errnoName } from "./sim/errno.ts";

// Memory: frames, the mm and its locks, processes and the syscalls a test thread makes.
export { PAGE_SHIFT, PAGE_SIZE, pageAlign, pageAlignDown, type Page } from "./mm/page.ts";
export { PhysMem } from "./mm/physMem.ts";
export {
  MmStruct,
  mmget,
  mmgetNotZero,
  mmput,
  mmgrab,
  mmdrop,
  mmapReadLock,
  mmapReadUnlock,
  mmapWriteLock,
  mmapWriteUnlock,
} from "./mm/mmStruct.ts";
export { Process, forkProcess, getTaskMm, killProcess } from "./mm/process.ts";
export {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  vmMmap as mmap,
  vmMunmap as munmap,
} from "./mm/mmap.ts";
export { MADV_DONTNEED, MADV_FREE, doMadvise as madvise } from "./mm/madvise.ts";
export { doMprotect as mprotect } from "./mm/mprotect.ts";
export { cpuRead, cpuWrite, type CpuReadResult, type CpuWriteResult } from "./mm/access.ts";

// MMU notifiers: the classic registration, interval notifiers, hmm_range_fault.
export type { MmuNotifierRange, MmuNotifyEvent } from "./mm/notifier/subscriptions.ts";
export {
  MmuNotifier,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  type MmuNotifierOps,
} from "./mm/notifier/mmuNotifier.ts";
export {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalCheckRetry,
  mmuIntervalSetSeq,
  type MmuIntervalNotifierOps,
} from "./mm/notifier/mmuIntervalNotifier.ts";
export {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnHas,
  hmmPfnToPfn,
  hmmRangeFault,
  type HmmRange,
} from "./mm/notifier/hmm.ts";

// mlx5 ODP designs: the interfaces a user's design implements, the built-in generations
// to wrap or delegate to, and the registry `--design ./my-design.ts` registers into.
export type { UmemOdpDesign, UmemOdpDriverOps } from "./rdma/core/odp/umemOdpDesign.ts";
export type { Mlx5OdpDesign, PagefaultFlags, PrefetchHold } from "./rdma/mlx5/odp/mlx5OdpDesign.ts";
export { classicMlx5Odp } from "./rdma/mlx5/odp/classicOdp.ts";
export { hmmMirrorMlx5Odp } from "./rdma/mlx5/odp/hmmMirrorOdp.ts";
export { intervalMlx5Odp } from "./rdma/mlx5/odp/intervalOdp.ts";
export {
  MLX5_ODP_DESIGNS,
  mlx5OdpDesign,
  registerMlx5OdpDesign,
  type UserMlx5OdpDesign,
} from "./rdma/mlx5/odp/designs.ts";

// umem_odp and the verbs a test thread issues: an ODP host (an mlx5 device with the run's
// design), ibv_open_device through the uverbs file, PDs, MRs, CQs and QPs, and the
// exported umem_odp calls of today's kernel (the interval design) for a driver's own.
export { newOdpHost, type Mlx5HostDevice, type OdpHost } from "./check/host.ts";
export { EBADF, EIO, EOPNOTSUPP } from "./sim/errno.ts";
export { ibvCloseDevice, ibvOpenDevice } from "./rdma/core/uverbs/ibvDevice.ts";
export {
  ibvAdviseMr,
  ibvAllocPd,
  ibvDeregMr,
  ibvQueryDeviceEx,
  ibvRegMr,
} from "./rdma/core/verbs.ts";
export {
  ibvCreateCq,
  ibvDestroyCq,
  ibvPollCq,
  ibvWaitCompletions,
  type IbCq,
  type IbWc,
} from "./rdma/core/ibCq.ts";
export {
  IB_SEND_SIGNALED,
  ibvCreateQp,
  ibvDestroyQp,
  ibvModifyQp,
  ibvPostRecv,
  ibvPostSend,
  type IbQp,
  type IbQpAttr,
  type IbQpInitAttr,
  type IbQpState,
  type IbQpType,
  type IbRecvWr,
  type IbSendWr,
  type IbWrOpcode,
  type IbWrSge,
} from "./rdma/core/ibQp.ts";
export {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_ATOMIC,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
  IMPLICIT_ODP_LENGTH,
  type IbAdviseMrAdvice,
} from "./rdma/core/ibVerbs.ts";
export {
  ibUmemOdpGet,
  ibUmemOdpMapDmaAndLock,
  ibUmemOdpRelease,
  ibUmemOdpUnmapDmaPages,
} from "./rdma/core/odp/umemOdpApi.ts";
export { ODP_READ_ALLOWED_BIT, ODP_WRITE_ALLOWED_BIT } from "./rdma/core/umemOdp.ts";
export type { IbMr } from "./rdma/core/ibMr.ts";
export type { IbDeviceAttr, IbSge } from "./rdma/core/ibDevice.ts";
export type { IbUverbsDevice } from "./rdma/core/uverbs/uverbsDevice.ts";

// Checking: a scenario and its host, the explorer, oracles, reports and replay.
export {
  contextKernelOptions,
  runScenario,
  type RunSettings,
  type Scenario,
  type ScenarioContext,
  type ScenarioRun,
} from "./check/scenario.ts";
export { newHost, type Host, type HostOptions } from "./check/host.ts";
export {
  explore,
  type ExploreFailure,
  type ExploreOptions,
  type ExploreResult,
  type StrategyName,
} from "./check/explore.ts";
export type { Verdict } from "./check/verdict.ts";
export { replayRecorded, type RecordedRun } from "./check/replay.ts";
export { buildRaceReport, type RaceReport } from "./check/report.ts";
export { renderRaceReport, type ReportFormat } from "./check/renderReport.ts";
export { encodeToken, replayToken } from "./check/token.ts";
export { teardownLeaks } from "./check/oracles/teardownLeaks.ts";
export { attachDeviceTranslationOracle, checkDeviceAccess } from "./check/oracles/deviceAccess.ts";

// A device's mirror of an address space: the one interface every mirror's translations
// and accesses go through, so the device-access oracle checks them.
export {
  DevicePageTable,
  addDeviceTranslationObserver,
  deviceAccess,
  type DeviceAccess,
  type DeviceTranslation,
  type DeviceTranslationObserver,
} from "./mm/devicePageTable.ts";

// Types that appear in the signatures above: named so a user can spell them, and
// documented; the classes among them are not for constructing through this entry.
export type { CausalSlice } from "./check/slice.ts";
export type { ClassicUmemOdp } from "./rdma/core/odp/classicUmemOdp.ts";
export type { HmmMirrorUmemOdp } from "./rdma/core/odp/hmmMirrorUmemOdp.ts";
export type { IntervalUmemOdp } from "./rdma/core/odp/intervalUmemOdp.ts";
export type { IbUmemOdp } from "./rdma/core/umemOdp.ts";
export type { IbPd } from "./rdma/core/ibPd.ts";
export type { IbUcontext } from "./rdma/core/ucontext.ts";
export type { Mlx5IbDev } from "./rdma/mlx5/mlx5IbDev.ts";
export type { Mlx5IbMr } from "./rdma/mlx5/mlx5IbMr.ts";
export type { CpuFault } from "./mm/access.ts";
export type { DfsReduction, ExploreInternalError, Partition } from "./check/explore.ts";
export type { FaultPlan } from "./check/faults.ts";
export type { File } from "./mm/file.ts";
export type { FootprintRecorder } from "./sim/footprint.ts";
export type { FrameSite, RaceReportOptions, ReportColumn, ReportRow } from "./check/report.ts";
export type { HeldLock, LockClass, LockInstance, Lockdep } from "./sim/lockdep.ts";
export type { Hmm } from "./mm/notifier/hmmMirror.ts";
export type { IoRegion, PhysMemOptions } from "./mm/physMem.ts";
export type { Kasan } from "./sim/kasan.ts";
export type { KernelGlobal } from "./sim/kernel.ts";
export type { MmuNotifierSubscriptions } from "./mm/notifier/subscriptions.ts";
export type { PageKind } from "./mm/page.ts";
export type { PageTable } from "./mm/pageTable.ts";
export type { PctBound } from "./check/shrink.ts";
export type { Prng } from "./sim/rng.ts";
export type { Replayed } from "./check/replay.ts";
export type { ScenarioLookup, TokenInput, TokenReplay } from "./check/token.ts";
export type { Strategy } from "./sim/strategy.ts";
export type { TaskGroupKind, TaskState, TaskYield, WaitChannel } from "./sim/task.ts";
export type { Trace, TraceFieldValue } from "./sim/trace.ts";
export type { ViolationKind } from "./sim/violation.ts";
export type { VirtualClock } from "./sim/clock.ts";
export type { VmAreaStruct } from "./mm/vma.ts";
export type { WorkqueueOptions } from "./sim/sync/workqueue.ts";
