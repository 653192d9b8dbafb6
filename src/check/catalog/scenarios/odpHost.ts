/**
 * The common setup of the ODP catalog scenarios: one host with physical memory, one
 * process, an mlx5 device registered with the chosen design, the device-access oracle
 * attached, and an ODP MR over a fresh anonymous buffer.
 *
 * Models no kernel file: it is the test bench, the equivalent of a small rdma-core test
 * program plus the machine it runs on.
 */
import { Kernel, KernelGlobal } from "../../../sim/kernel.ts";
import type { KGen, Task } from "../../../sim/task.ts";
import { cpuWrite } from "../../../mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../mm/mmap.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { PhysMem } from "../../../mm/physMem.ts";
import { Process } from "../../../mm/process.ts";
import type { IbMr } from "../../../rdma/core/ibMr.ts";
import type { IbPd } from "../../../rdma/core/ibPd.ts";
import type { IbUcontext } from "../../../rdma/core/ucontext.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_WRITE,
  IB_ACCESS_REMOTE_READ,
  IMPLICIT_ODP_LENGTH,
} from "../../../rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvDeregMr, ibvRegMr } from "../../../rdma/core/verbs.ts";
import {
  fileUfile,
  ibUverbsGetUcontext,
  ibUverbsOpen,
} from "../../../rdma/core/uverbs/uverbsMain.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Mlx5DevOptions } from "../../../rdma/mlx5/mlx5IbDev.ts";
import { mlx5HostDevice, type OdpHost } from "../../host.ts";
import { contextKernelOptions, type ScenarioContext } from "../../scenario.ts";
import { holdFaultClock, spawnFaultTasks, startFaultClock } from "../../faultTasks.ts";

export type { OdpHost };

/** The host a kernel was built with, for observers (snapshots) that need the model. */
const ODP_HOST = new KernelGlobal<{ host?: OdpHost }>("odp host (test bench)", () => ({}));

/** The ODP host a scenario built on `k`, if it used odpHost(). */
export function odpHostOf(k: Kernel): OdpHost | undefined {
  return k.global(ODP_HOST).host;
}

export function odpHost(
  ctx: ScenarioContext,
  frames = 256,
  devOptions: Mlx5DevOptions = {},
): OdpHost {
  const k = new Kernel({
    ...contextKernelOptions(ctx),
    defects: ctx.defects ?? [],
    maxSteps: 20_000,
  });
  const phys = new PhysMem(k, { frames });
  const proc = new Process(k, phys);
  const host = { k, phys, proc, ...mlx5HostDevice(k, phys, ctx.design, devOptions) };
  k.global(ODP_HOST).host = host;
  // The injected OOM reaper pass, SIGKILL and hot unplug (fault sites that are tasks),
  // each timed from the end of the scenario's setup (`setupDone`).
  holdFaultClock(k);
  spawnFaultTasks(k, proc, host.dev, host.udev, ctx.faults);
  return host;
}

/**
 * The start of a catalog scenario's setup: fault injection is about the run, not about
 * setting it up, so no failure point fails until `setupDone`. Idempotent.
 */
export function setupBegins(host: OdpHost): void {
  host.k.faultsArmed = false;
}

/**
 * The end of a catalog scenario's setup, called once its objects exist and before its
 * run's threads are spawned: faults are armed and the fault tasks' clocks start.
 */
export function setupDone(host: OdpHost): void {
  startFaultClock(host.k);
}

export interface OdpBuffer {
  readonly addr: number;
  readonly pd: IbPd;
  readonly mr: IbMr;
}

/**
 * mmap an anonymous buffer (private unless `mapFlags` says otherwise), touch it from the
 * CPU, and register it as an ODP MR. Part of a setup: faults stay disarmed until the
 * caller's `setupDone`.
 */
export function* setupOdpBuffer(
  host: OdpHost,
  pages: number,
  mapFlags = MAP_PRIVATE | MAP_ANONYMOUS,
): KGen<OdpBuffer> {
  setupBegins(host);
  const mm = host.proc.mm;
  if (mm === null) throw new Error("process has no mm");
  const len = pages * PAGE_SIZE;
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, mapFlags);
  if (addr < 0) throw new Error(`setup mmap failed: ${addr}`);
  const w = yield* cpuWrite(mm, addr, new Uint8Array(len).fill(0x11));
  if (!w.ok) throw new Error("setup CPU write faulted");
  const pd = ibvAllocPd(yield* openUverbsContext(host, mm));
  if (typeof pd === "number") throw new Error(`alloc_pd failed: ${pd}`);
  const access =
    IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ;
  const mr = yield* ibvRegMr(pd, addr, len, access);
  if (typeof mr === "number") throw new Error(`reg_mr failed: ${mr}`);
  return { addr, pd, mr };
}

/**
 * open() the device's uverbs file into the process's file table and get its context, as
 * ibv_open_device() does: the file stays open, so the process's exit (or a SIGKILL)
 * closes it and destroys whatever MRs the process left registered.
 */
function* openUverbsContext(host: OdpHost, mm: MmStruct): KGen<IbUcontext> {
  const filp = yield* ibUverbsOpen(host.udev, mm, host.proc.pid);
  if (typeof filp === "number") throw new Error(`open device failed: ${filp}`);
  host.proc.files.push(filp);
  const ctx = ibUverbsGetUcontext(fileUfile(filp));
  if (typeof ctx === "number") throw new Error(`get_context failed: ${ctx}`);
  return ctx;
}

/**
 * Device costs for scenarios that leave to the interleaving alone which steps overlap:
 * page faults and UMRs take no virtual time.
 */
export const INSTANT_DEVICE = { pageFaultNs: 0, umrNs: 0, umrPerEntryNs: 0 } as const;

/**
 * A catalog scenario's kernel on an ODP host with an instant device, whose process's
 * "setup" thread runs `setup` (which spawns the run's actors once it is done).
 */
export function instantOdpHost(ctx: ScenarioContext, setup: (host: OdpHost) => KGen): Kernel {
  return withOdpHost(ctx, setup, 256, { cost: INSTANT_DEVICE });
}

/** A catalog scenario's kernel: an ODP host whose "setup" thread runs `setup`. */
export function withOdpHost(
  ctx: ScenarioContext,
  setup: (host: OdpHost) => KGen,
  frames?: number,
  devOptions?: Mlx5DevOptions,
): Kernel {
  const host = odpHost(ctx, frames, devOptions);
  host.proc.spawnThread("setup", () => setup(host));
  return host.k;
}

/** Once every task of `before` has ended, deregister `mr`. */
export function* deregAfter(host: OdpHost, before: readonly Task[], mr: IbMr): KGen {
  for (const t of before) yield* host.k.join(t);
  yield* ibvDeregMr(mr);
}

export interface ImplicitOdpBuffer {
  readonly addr: number;
  readonly pd: IbPd;
  /** The implicit MR (addr 0, length SIZE_MAX) covering the whole address space. */
  readonly imr: IbMr;
}

/**
 * mmap an anonymous buffer of `len` bytes, store `touch` bytes into its start from the
 * CPU, open the device and register an implicit ODP MR; the setup of the implicit-MR
 * catalog scenarios. Part of a setup: faults stay disarmed until the caller's
 * `setupDone`.
 */
export function* setupImplicitOdpBuffer(
  host: OdpHost,
  len: number,
  touch = len,
): KGen<ImplicitOdpBuffer> {
  setupBegins(host);
  const mm = host.proc.mm;
  if (mm === null) throw new Error("process has no mm");
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (addr < 0) throw new Error(`setup mmap failed: ${addr}`);
  yield* cpuWrite(mm, addr, new Uint8Array(touch).fill(0x11));
  const pd = ibvAllocPd(yield* openUverbsContext(host, mm));
  if (typeof pd === "number") throw new Error(`alloc_pd failed: ${pd}`);
  const access = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;
  const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, access);
  if (typeof imr === "number") throw new Error(`implicit reg_mr failed: ${imr}`);
  return { addr, pd, imr };
}

/**
 * The device of most catalog scenarios: one task writing 16 bytes to each page of the
 * buffer in turn (faulting each in), stopping when its QP would go to the error state.
 */
export function spawnNicWriter(host: OdpHost, buf: OdpBuffer, pages: number): void {
  host.k.spawn("nic", { kind: "device", name: host.dev.name }, () => nicWriter(host, buf, pages));
}

function* nicWriter(host: OdpHost, buf: OdpBuffer, pages: number): KGen {
  for (let page = 0; page < pages; page++) {
    const req = {
      key: buf.mr.lkey,
      va: buf.addr + page * PAGE_SIZE,
      buf: new Uint8Array(16).fill(page),
      write: true,
    };
    if ((yield* mlx5DeviceDma(host.dev, host.design, req)) < 0) return;
  }
}

/** A user thread's body: after one fault latency, deregister `mr`. */
export function* deregAfterFaultLatency(host: OdpHost, mr: IbMr): KGen {
  yield* host.k.sleep(host.dev.cost.pageFaultNs);
  yield* ibvDeregMr(mr);
}
