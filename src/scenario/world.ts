/**
 * The machine a compiled scenario runs on: its kernel, hosts (memory and a NIC each),
 * processes with their buffers, files and MRs, as they stand during one run.
 *
 * Models no kernel file: this is the test bench, like odpHost.ts for the catalog
 * scenarios but built from a scenario file (several hosts, several processes).
 */
import { Completion } from "../sim/sync/completion.ts";
import { withEra } from "../check/catalog/catalog.ts";
import type { FaultPlan } from "../check/faults.ts";
import { spawnDeviceFaultTasks, spawnProcessFaultTasks } from "../check/faultTasks.ts";
import { DmirrorDevice, type Dmirror } from "../dmirror/dmirror.ts";
import type { I915MmuNotifier, I915MmuObject } from "../drm/i915GemUserptr.ts";
import { setPairEndsOnFailedStart } from "../mm/notifier/srcu.ts";
import { Kernel } from "../sim/kernel.ts";
import type { File } from "../mm/file.ts";
import { PhysMem } from "../mm/physMem.ts";
import { Process } from "../mm/process.ts";
import type { IbMr } from "../rdma/core/ibMr.ts";
import type { IbCq } from "../rdma/core/ibCq.ts";
import type { IbPd } from "../rdma/core/ibPd.ts";
import type { IbQp } from "../rdma/core/ibQp.ts";
import {
  IB_ODP_SUPPORT,
  IB_ODP_SUPPORT_ATOMIC,
  IB_ODP_SUPPORT_IMPLICIT,
  IB_ODP_SUPPORT_READ,
  IB_ODP_SUPPORT_RECV,
  IB_ODP_SUPPORT_SEND,
  IB_ODP_SUPPORT_SRQ_RECV,
  IB_ODP_SUPPORT_WRITE,
  type IbOdpCaps,
} from "../rdma/core/ibVerbs.ts";
import { uverbsMmapDesign } from "../rdma/core/uverbs/designs.ts";
import { DoorbellDriver } from "../rdma/core/uverbs/doorbellDriver.ts";
import type { UverbsMmapDesign } from "../rdma/core/uverbs/umapDesign.ts";
import { IbUverbsDevice } from "../rdma/core/uverbs/uverbsDevice.ts";
import type { IbUcontext } from "../rdma/core/ucontext.ts";
import { mlx5IbRegisterDevice } from "../rdma/mlx5/mlx5Driver.ts";
import { mlx5DoorbellUverbsDriver, mlx5UverbsDriver } from "../rdma/mlx5/mlx5Uverbs.ts";
import { Wire } from "../rdma/wire/wire.ts";
import { MLX5_ODP_CAPS, Mlx5IbDev } from "../rdma/mlx5/mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "../rdma/mlx5/odp/mlx5OdpDesign.ts";
import {
  attachDeviceAccessOracle,
  attachDeviceTranslationOracle,
} from "../check/oracles/deviceAccess.ts";
import { attachLostDeviceWriteOracle } from "../check/oracles/lostDeviceWrite.ts";
import { IoMemoryOracle } from "../check/catalog/uverbs/ioMemoryOracle.ts";
import { DEFAULT_MLX5_ODP_DESIGN, setupMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";
import { scenarioDesigns } from "./designs.ts";
import { contextKernelOptions, type ScenarioContext } from "../check/scenario.ts";
import type { Backport, HostSpec, OdpCapsSpec, ProcessSpec, ScenarioSpec } from "./schema.ts";

export const DEFAULT_FRAMES = 256;
export const DEFAULT_MAX_STEPS = 50_000;

export interface HostRt {
  readonly name: string;
  readonly phys: PhysMem;
  readonly dev: Mlx5IbDev;
  /** The NIC's uverbs character device: processes open it, hot unplug tears it down. */
  readonly udev: IbUverbsDevice;
  /** The host's HMM test device (/dev/hmm_dmirror0) that `mirrors` open. */
  readonly mdevice: DmirrorDevice;
  /**
   * The NIC's IO memory a `uverbs_mmap` maps (a doorbell page of a BAR and a driver
   * page per context), with the IO-memory oracle on the BAR; null on a host none of
   * whose processes maps it (the NIC then offers no mmap, as before).
   */
  readonly io: { readonly doorbell: DoorbellDriver; readonly oracle: IoMemoryOracle } | null;
}

/** The uverbs file setup opened for a process that maps IO memory, and the driver's offsets. */
export interface UverbsFdRt {
  readonly file: File;
  /** The mmap() offsets of the doorbell and the driver page (given at alloc_ucontext). */
  readonly offsets: { readonly doorbell: number; readonly page: number };
}

/** A buffer's mapping now: mremap moves and resizes it. */
export interface BufferRt {
  addr: number;
  bytes: number;
}

export interface MrRt {
  readonly mr: IbMr;
  readonly pd: IbPd;
  /** The buffer it was registered over, and where in it ("" and 0 for an implicit MR). */
  readonly buffer: string;
  readonly offset: number;
  /** An implicit MR: the whole address space, addressed through a buffer. */
  readonly implicit: boolean;
  deregistered: boolean;
}

/** An open dmirror: its file (in the process's file table) and the dmirror behind it. */
export interface MirrorRt {
  readonly file: File;
  readonly dmirror: Dmirror;
  /** A mirror_close dropped the file: later commands get -EBADF. */
  closed: boolean;
}

export interface QpRt {
  readonly qp: IbQp;
  readonly cq: IbCq;
}

export interface ProcessRt {
  readonly name: string;
  readonly spec: ProcessSpec;
  readonly host: HostRt;
  readonly proc: Process;
  readonly buffers: Map<string, BufferRt>;
  readonly mrs: Map<string, MrRt>;
  readonly files: Map<string, File>;
  readonly qps: Map<string, QpRt>;
  readonly mirrors: Map<string, MirrorRt>;
  /** The i915 GEM userptr objects of the setup (userptrs.ts), by name. */
  readonly userptrs: Map<string, I915MmuObject>;
  /** The process's i915 mmu_notifier, once its first userptr object registered it. */
  i915Mn: I915MmuNotifier | null;
  /** The device context the setup opened, if it opened the device. */
  ctx: IbUcontext | null;
  /** The protection domain of that context (setup registrations and `reg_mr` use it). */
  pd: IbPd | null;
  /** Its uverbs file and mmap offsets, when its host's NIC offers IO memory (`uverbs_mmap`). */
  uverbs: UverbsFdRt | null;
}

export interface World {
  readonly k: Kernel;
  readonly spec: ScenarioSpec;
  readonly design: Mlx5OdpDesign;
  /** The uverbs mmap design: the file's `design:` if it names one, else the mmap-entry one. */
  readonly uverbsDesign: UverbsMmapDesign;
  readonly hosts: ReadonlyMap<string, HostRt>;
  /** Every process created so far, forked children included, by name. */
  readonly procs: Map<string, ProcessRt>;
  /** Threads and operations this run leaves out (`threadPart`, `opPart`). */
  readonly omitted: ReadonlySet<string>;
  /** The run's fault plan: the context's, else the file's. */
  readonly faults: FaultPlan | undefined;
  /** The file's named events (`signal` / `wait`), made on first use. */
  readonly events: Map<string, Completion>;
}

/** The completion behind the file's event `name`. */
export function eventOf(world: World, name: string): Completion {
  let event = world.events.get(name);
  if (event === undefined) {
    event = new Completion(world.k, `event ${name}`);
    world.events.set(name, event);
  }
  return event;
}

/** The part name of a thread, for `Scenario.parts` and `ScenarioContext.omit`. */
export function threadPart(process: string, thread: string): string {
  return `${process}/${thread}`;
}

/** The part name of a thread's operation (counted from 0). */
export function opPart(process: string, thread: string, index: number): string {
  return `${threadPart(process, thread)}[${index}]`;
}

/** Every thread of the file, then every operation, as parts. */
export function scenarioParts(spec: ScenarioSpec): string[] {
  const threads: string[] = [];
  const ops: string[] = [];
  for (const p of spec.processes) {
    for (const t of p.threads ?? []) {
      threads.push(threadPart(p.name, t.name));
      t.ops.forEach((_, i) => ops.push(opPart(p.name, t.name, i)));
    }
  }
  return [...threads, ...ops];
}

/** The design a run uses: the context's, else the file's, else the default. */
export function designName(spec: ScenarioSpec, ctx: ScenarioContext): string {
  return ctx.design ?? spec.design ?? DEFAULT_MLX5_ODP_DESIGN;
}

/** The kernel and hosts of one run, with the processes that have a setup. */
export function buildWorld(spec: ScenarioSpec, ctx: ScenarioContext): World {
  const name = designName(spec, ctx);
  const faults = ctx.faults ?? spec.faults;
  const k = new Kernel({
    ...contextKernelOptions({ ...ctx, faults }),
    // A catalog defect brings the defects of its era (CatalogEntry.era).
    defects: withEra(ctx.defects ?? spec.defects ?? []),
    maxSteps: spec.maxSteps ?? DEFAULT_MAX_STEPS,
  });
  const designs = scenarioDesigns(name);
  const design = setupMlx5OdpDesign(k, designs.mlx5);
  const uverbsDesign = uverbsMmapDesign(designs.uverbs);
  // A uverbs design names the kernel too: its fork order (the same as its mlx5 partner's).
  if (designs.uverbsEra) uverbsDesign.kernelSetup(k);
  applyBackports(k, spec);
  attachDeviceTranslationOracle(k);
  const hostSpecs = spec.hosts ?? [{ name: "host0" }];
  const hosts = new Map<string, HostRt>();
  const mapping = hostsMappingIo(spec);
  hostSpecs.forEach((h, i) =>
    hosts.set(h.name, buildHost(k, h, i, design, uverbsDesign, mapping.has(h.name))),
  );
  if (usesQps(spec)) {
    // Only scenarios with QPs cable their NICs together: the others have no port traffic.
    const wire = new Wire(k);
    for (const h of hosts.values()) wire.attach(h.dev);
  }
  const omitted = new Set(ctx.omit ?? []);
  const world: World = {
    k,
    spec,
    design,
    uverbsDesign,
    hosts,
    procs: new Map(),
    omitted,
    faults,
    events: new Map(),
  };
  for (const p of spec.processes) {
    if (p.forkOf !== undefined) continue;
    const host = hostOf(world, p);
    const proc = new Process(k, host.phys);
    host.io?.oracle.watchProcess(proc);
    world.procs.set(p.name, newProcessRt(p, host, proc));
  }
  return world;
}

/** What each backport puts into a kernel whose design's era predates it. */
const BACKPORT_SETUP: Readonly<Record<Backport, (k: Kernel) => void>> = {
  "mmu-notifier-range-end-pairing": (k) => {
    setPairEndsOnFailedStart(k, true);
  },
};

/** The file's `backports`, put into the kernel after the design's own era setup. */
function applyBackports(k: Kernel, spec: ScenarioSpec): void {
  for (const fix of spec.backports ?? []) BACKPORT_SETUP[fix](k);
}

/** Whether a process's threads map its uverbs file's IO memory (`uverbs_mmap`). */
export function mapsIoMemory(p: ProcessSpec): boolean {
  return (p.threads ?? []).some((t) =>
    t.ops.some((op) => typeof op !== "string" && op.uverbs_mmap !== undefined),
  );
}

/** The hosts some process of which maps IO memory (forked children map none of their own). */
function hostsMappingIo(spec: ScenarioSpec): Set<string> {
  const first = spec.hosts?.[0]?.name ?? "host0";
  return new Set(spec.processes.filter(mapsIoMemory).map((p) => p.host ?? first));
}

function buildHost(
  k: Kernel,
  h: HostSpec,
  index: number,
  design: Mlx5OdpDesign,
  uverbsDesign: UverbsMmapDesign,
  mapsIo: boolean,
): HostRt {
  const phys = new PhysMem(k, {
    frames: h.frames ?? DEFAULT_FRAMES,
    ...(h.hugetlbPages === undefined ? {} : { hugetlbPages: h.hugetlbPages }),
  });
  const dev = new Mlx5IbDev(k, h.nic?.name ?? `mlx5_${index}`, phys, {
    odpCaps: odpCaps(h.nic?.odpCaps),
    ...(h.nic?.cost === undefined ? {} : { cost: h.nic.cost }),
  });
  mlx5IbRegisterDevice(dev, design);
  attachDeviceAccessOracle(dev);
  attachLostDeviceWriteOracle(dev);
  // Only a host whose programs map IO memory has a doorbell BAR and the oracle watching it.
  const doorbell = mapsIo ? new DoorbellDriver(phys, uverbsDesign.name) : null;
  const driver =
    doorbell === null ? mlx5UverbsDriver(dev) : mlx5DoorbellUverbsDriver(dev, doorbell);
  const udev = new IbUverbsDevice(k, phys, dev, driver, uverbsDesign);
  const io = doorbell === null ? null : { doorbell, oracle: new IoMemoryOracle(k, [doorbell.bar]) };
  const mdevice = new DmirrorDevice(k, "hmm_dmirror0");
  return { name: h.name, phys, dev, udev, mdevice, io };
}

function usesQps(spec: ScenarioSpec): boolean {
  return spec.processes.some((p) => (p.setup?.qps ?? []).length > 0);
}

const TRANSPORT_BITS: Readonly<Record<string, number>> = {
  send: IB_ODP_SUPPORT_SEND,
  recv: IB_ODP_SUPPORT_RECV,
  write: IB_ODP_SUPPORT_WRITE,
  read: IB_ODP_SUPPORT_READ,
  atomic: IB_ODP_SUPPORT_ATOMIC,
  srq_recv: IB_ODP_SUPPORT_SRQ_RECV,
};

function bits(list: readonly string[] | undefined, fallback: number): number {
  if (list === undefined) return fallback;
  return list.reduce((acc, name) => acc | (TRANSPORT_BITS[name] ?? 0), 0);
}

/** struct ib_odp_caps from the file: the mlx5 defaults, overridden field by field. */
export function odpCaps(spec: OdpCapsSpec | undefined): IbOdpCaps {
  if (spec === undefined) return MLX5_ODP_CAPS;
  const base = MLX5_ODP_CAPS;
  const general =
    ((spec.odp ?? true) ? IB_ODP_SUPPORT : 0) |
    ((spec.implicit ?? true) ? IB_ODP_SUPPORT_IMPLICIT : 0);
  const t = base.perTransportCaps;
  return {
    generalCaps: general,
    perTransportCaps: {
      rcOdpCaps: bits(spec.rc, t.rcOdpCaps),
      ucOdpCaps: bits(spec.uc, t.ucOdpCaps),
      udOdpCaps: bits(spec.ud, t.udOdpCaps),
      xrcOdpCaps: bits(spec.xrc, t.xrcOdpCaps),
    },
  };
}

export function hostOf(world: World, p: ProcessSpec): HostRt {
  const name = p.host ?? world.hosts.keys().next().value;
  const host = name === undefined ? undefined : world.hosts.get(name);
  if (host === undefined) throw new Error(`no host for process ${p.name}`);
  return host;
}

export function newProcessRt(spec: ProcessSpec, host: HostRt, proc: Process): ProcessRt {
  return {
    name: spec.name,
    spec,
    host,
    proc,
    buffers: new Map(),
    mrs: new Map(),
    files: new Map(),
    qps: new Map(),
    mirrors: new Map(),
    userptrs: new Map(),
    i915Mn: null,
    ctx: null,
    pd: null,
    uverbs: null,
  };
}

/**
 * The fault sites that are tasks (src/check/faultTasks.ts), once setup is done: each
 * process of the file (forked children do not exist yet) gets its own OOM reaper pass
 * and SIGKILL, in the file's order, then each host its own hot unplug, in the file's
 * order. Each task's time is drawn from the PRNG as it is spawned, so this order is
 * fixed.
 */
export function spawnScenarioFaultTasks(world: World): void {
  const { k, faults } = world;
  if (faults === undefined || faults.sites.length === 0) return;
  for (const p of world.procs.values()) {
    const naming = { group: { kind: "host" as const, name: p.host.name }, suffix: ` ${p.name}` };
    spawnProcessFaultTasks(k, p.proc, p.host.dev, faults, naming);
  }
  for (const h of world.hosts.values()) {
    const naming = { group: { kind: "host" as const, name: h.name }, suffix: ` ${h.name}` };
    spawnDeviceFaultTasks(k, h.dev, h.udev, faults, naming);
  }
}
