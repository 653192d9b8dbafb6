/**
 * The fault sites that are tasks rather than failure points: an OOM reaper pass over a
 * process (its non-blockable invalidations), SIGKILL to a process, and hot unplug of an
 * mlx5 device, each at a time drawn from the run's model PRNG.
 *
 * Models no kernel file: these are the outside events (mm/oom_kill.c's reaper, a kill(2)
 * from another program, the PCI core removing the device) that fault injection throws
 * at a run. The catalog's ODP host spawns them for its one process and device; a scenario
 * file's world spawns them per process and per host. Each enabled site draws its time
 * from the PRNG when it is spawned, so the caller's order of spawning is part of the
 * run's determinism.
 *
 * A task's time counts from the end of the scenario's setup: a scenario file spawns its
 * tasks only then (src/scenario/compile.ts), while the catalog's host spawns them with
 * the machine, before its setup thread runs, so there each task first waits for the
 * setup to say it is done (`startFaultClock`). A kill or an unplug in the middle of a
 * setup would hit no MR and leave the setup's own objects behind:
 *
 *   kthreads (catalog)                 setup thread
 *   wait_for_completion(setup_done)    mmap, open, reg_mr   (faults disarmed)
 *                                      startFaultClock(): arm, complete_all
 *   sleep(at); kill / unplug / reap    spawn the run's threads
 */
import { KernelGlobal, type Kernel } from "../sim/kernel.ts";
import { Completion } from "../sim/sync/completion.ts";
import type { KGen, TaskGroup } from "../sim/task.ts";
import { mmdrop, mmgrab } from "../mm/mmStruct.ts";
import { oomReapTaskMm } from "../mm/oomReaper.ts";
import { killProcess, type Process } from "../mm/process.ts";
import type { IbUverbsDevice } from "../rdma/core/uverbs/uverbsDevice.ts";
import { mlx5IbRemove } from "../rdma/mlx5/mlx5Uverbs.ts";
import type { Mlx5IbDev } from "../rdma/mlx5/mlx5IbDev.ts";
import type { FaultPlan, FaultSite } from "./faults.ts";

/**
 * An injected kill, unplug or OOM-reaper pass happens at a time drawn from the first
 * few device page-fault latencies: the time scale on which ODP races play out.
 */
export const FAULT_TASK_WINDOW_FAULTS = 4;

/** Where the tasks go and what they are called (the catalog keeps its original names). */
export interface FaultTaskNaming {
  readonly group: TaskGroup;
  /** Appended to each task name ("" for the catalog: oom_reaper, sigkill, hot_unplug). */
  readonly suffix: string;
}

/** The catalog's naming: bare names in a "kthreads" group. */
export const KTHREADS: FaultTaskNaming = { group: { kind: "host", name: "kthreads" }, suffix: "" };

/**
 * Whether a catalog setup is still to finish (its fault tasks wait), and the completion
 * its end fires. A kernel no catalog host marked never waits.
 */
const SETUP_DONE = new KernelGlobal("catalog setup done (fault clock)", (k) => ({
  pending: false,
  done: new Completion(k, "setup_done"),
}));

/**
 * Makes the fault tasks of `k` wait for `startFaultClock`: for a host that spawns them
 * before its scenario is set up.
 */
export function holdFaultClock(k: Kernel): void {
  k.global(SETUP_DONE).pending = true;
}

/**
 * The end of a scenario's setup: faults are armed and the fault tasks' clocks start.
 * Every catalog setup calls it once its objects exist, before the run's threads.
 */
export function startFaultClock(k: Kernel): void {
  k.faultsArmed = true;
  k.global(SETUP_DONE).done.completeAll();
}

/** Sleeps until the setup is done (if one is pending), then `at` ns more. */
function* sleepAfterSetup(k: Kernel, at: number): KGen {
  const setup = k.global(SETUP_DONE);
  if (setup.pending) yield* setup.done.wait();
  yield* k.sleep(at);
}

function sitesOf(plan: FaultPlan | undefined): Set<string> {
  return new Set(plan?.sites ?? []);
}

/**
 * The window of a task's time: a few of `dev`'s page-fault latencies, in whole
 * nanoseconds and at least one, so a device whose faults cost nothing (a zero-cost
 * scenario) still gets its fault tasks, at time 0.
 */
function windowOf(dev: Mlx5IbDev): number {
  return Math.max(1, Math.round(FAULT_TASK_WINDOW_FAULTS * dev.cost.pageFaultNs));
}

/**
 * The process's tasks, in this order: an OOM reaper pass (nonblockable_invalidate),
 * then SIGKILL (process_kill). `dev` is the device whose fault latency sets the window.
 */
export function spawnProcessFaultTasks(
  k: Kernel,
  proc: Process,
  dev: Mlx5IbDev,
  plan: FaultPlan | undefined,
  naming: FaultTaskNaming = KTHREADS,
): void {
  const sites = sitesOf(plan);
  const window = windowOf(dev);
  if (sites.has("nonblockable_invalidate")) {
    const at = k.rng.nextInt(window);
    k.spawn(`oom_reaper${naming.suffix}`, naming.group, () => oomReaperPass(k, proc, at));
  }
  if (sites.has("process_kill")) {
    const at = k.rng.nextInt(window);
    k.spawn(`sigkill${naming.suffix}`, naming.group, () => sigkill(k, proc, at));
  }
}

/**
 * Whether the task's fault happens: not while faults are disarmed (as `shouldFail`
 * honours; the tasks wait for the setup, but a scenario may disarm again), else
 * injected as planned.
 */
function armedFault(k: Kernel, site: FaultSite): boolean {
  return k.faultsArmed && k.injectFault(site);
}

/**
 * At time `at`, one non-blockable OOM-reaper pass over the process's mm, if it has one.
 * The reaper holds only the mm struct, never an mm_users reference: mm/oom_kill.c's
 * oom_reap_task() works on signal->oom_mm, which mark_oom_victim() pinned with mmgrab,
 * and oom_reap_task_mm() only trylocks mmap_lock. So the reaper is never the mm's last
 * user and never runs exit_mmap() (kernels whose reaper did take mmget_not_zero dropped
 * it with mmput_async(), for that reason).
 */
function* oomReaperPass(k: Kernel, proc: Process, at: number): KGen {
  yield* sleepAfterSetup(k, at);
  const mm = proc.mm;
  if (mm === null) return;
  mmgrab(mm);
  if (armedFault(k, "nonblockable_invalidate")) yield* oomReapTaskMm(mm);
  mmdrop(mm);
}

/** At time `at`, SIGKILL the process. */
function* sigkill(k: Kernel, proc: Process, at: number): KGen {
  yield* sleepAfterSetup(k, at);
  if (armedFault(k, "process_kill")) yield* killProcess(proc);
}

/** The device's task: hot unplug (device_removal) of `dev` and its uverbs device. */
export function spawnDeviceFaultTasks(
  k: Kernel,
  dev: Mlx5IbDev,
  udev: IbUverbsDevice,
  plan: FaultPlan | undefined,
  naming: FaultTaskNaming = KTHREADS,
): void {
  if (!sitesOf(plan).has("device_removal")) return;
  const at = k.rng.nextInt(windowOf(dev));
  k.spawn(`hot_unplug${naming.suffix}`, naming.group, () => hotUnplug(k, dev, udev, at));
}

/** At time `at`, remove the device (the PCI hot-unplug path). */
function* hotUnplug(k: Kernel, dev: Mlx5IbDev, udev: IbUverbsDevice, at: number): KGen {
  yield* sleepAfterSetup(k, at);
  // A removal the scenario itself already did (device_remove) leaves nothing to unplug.
  if (dev.removed) return;
  if (armedFault(k, "device_removal")) yield* mlx5IbRemove(dev, udev);
}

/** Every fault task of one process on one device: the process's, then the device's. */
export function spawnFaultTasks(
  k: Kernel,
  proc: Process,
  dev: Mlx5IbDev,
  udev: IbUverbsDevice,
  plan: FaultPlan | undefined,
  naming: FaultTaskNaming = KTHREADS,
): void {
  spawnProcessFaultTasks(k, proc, dev, plan, naming);
  spawnDeviceFaultTasks(k, dev, udev, plan, naming);
}
