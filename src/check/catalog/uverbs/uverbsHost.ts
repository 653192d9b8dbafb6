/**
 * The common setup of the uverbs mmap tests and catalog scenarios: one machine with
 * physical memory, an RDMA device with the doorbell driver, its uverbs character
 * device in the chosen design, and the IO-memory oracle on the BAR.
 *
 * Models no kernel file: the test bench — a machine, a device, and the rdma-core calls
 * a program makes (open the device, mmap its doorbell).
 */
import { Kernel } from "../../../sim/kernel.ts";
import type { Strategy } from "../../../sim/strategy.ts";
import type { Timing } from "../../../sim/timing.ts";
import type { KGen } from "../../../sim/task.ts";
import type { File } from "../../../mm/file.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE, vmMmap } from "../../../mm/mmap.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { PhysMem } from "../../../mm/physMem.ts";
import { Process } from "../../../mm/process.ts";
import { IbDevice } from "../../../rdma/core/ibDevice.ts";
import { uverbsMmapDesign } from "../../../rdma/core/uverbs/designs.ts";
import { DoorbellDriver } from "../../../rdma/core/uverbs/doorbellDriver.ts";
import { IbUverbsDevice } from "../../../rdma/core/uverbs/uverbsDevice.ts";
import { IbUverbsFile } from "../../../rdma/core/uverbs/uverbsFile.ts";
import { ibUverbsOpen } from "../../../rdma/core/uverbs/uverbsMain.ts";
import { IoMemoryOracle } from "./ioMemoryOracle.ts";

export interface UverbsHostOptions {
  readonly seed?: number;
  readonly strategy?: Strategy;
  readonly trace?: boolean;
  readonly timing?: Timing;
  readonly defects?: readonly string[];
  /** "seed" (default) or "entry". */
  readonly design?: string;
  readonly maxSteps?: number;
  readonly frames?: number;
  /** A driver other than the plain doorbell driver (a test's variant of it). */
  readonly makeDriver?: (phys: PhysMem, design: string) => DoorbellDriver;
}

export interface UverbsHost {
  readonly k: Kernel;
  readonly phys: PhysMem;
  readonly ibDev: IbDevice;
  readonly udev: IbUverbsDevice;
  readonly driver: DoorbellDriver;
  readonly oracle: IoMemoryOracle;
}

export function uverbsHost(opts: UverbsHostOptions = {}): UverbsHost {
  const k = new Kernel({
    seed: opts.seed ?? 0,
    ...(opts.strategy === undefined ? {} : { strategy: opts.strategy }),
    trace: opts.trace === true,
    ...(opts.timing === undefined ? {} : { timing: opts.timing }),
    defects: opts.defects ?? [],
    maxSteps: opts.maxSteps ?? 50_000,
  });
  const phys = new PhysMem(k, { frames: opts.frames ?? 256 });
  const ibDev = new IbDevice(k, "rdma0");
  const designName = opts.design ?? "seed";
  const driver = opts.makeDriver?.(phys, designName) ?? new DoorbellDriver(phys, designName);
  const mmapDesign = uverbsMmapDesign(designName);
  mmapDesign.kernelSetup(k);
  const udev = new IbUverbsDevice(k, phys, ibDev, driver, mmapDesign);
  const oracle = new IoMemoryOracle(k, [driver.bar]);
  return { k, phys, ibDev, udev, driver, oracle };
}

/** A new process, watched by the oracle. */
export function newProcess(host: UverbsHost): Process {
  const p = new Process(host.k, host.phys);
  host.oracle.watchProcess(p);
  return p;
}

/** The ufile behind an open uverbs file. */
export function ufileOf(file: File): IbUverbsFile {
  const ufile = file.privateData;
  if (!(ufile instanceof IbUverbsFile)) throw new Error("not a uverbs file");
  return ufile;
}

/** An open uverbs file and the mmap() offsets its driver handed out. */
export interface UverbsFd {
  readonly file: File;
  readonly offsets: { readonly doorbell: number; readonly page: number };
}

/** ibv_open_device(): the uverbs file, or throws (a bench failure, not a finding). */
export function* openDevice(host: UverbsHost, p: Process): KGen<UverbsFd> {
  const file = yield* ibUverbsOpen(host.udev, mmOf(p), p.pid);
  if (typeof file === "number") throw new Error(`open of the uverbs device failed: ${file}`);
  const ucontext = ufileOf(file).ucontext;
  if (ucontext === null) throw new Error("the driver refused the ucontext");
  return { file, offsets: host.driver.offsets(ucontext) };
}

export interface MmapOptions {
  readonly what?: "doorbell" | "page";
  readonly len?: number;
  readonly prot?: number;
  readonly flags?: number;
}

/** mmap() of one object of the file (the doorbell by default): address or -errno. */
export function* mmapObject(mm: MmStruct, fd: UverbsFd, opts: MmapOptions = {}): KGen<number> {
  return yield* vmMmap(
    mm,
    0,
    opts.len ?? PAGE_SIZE,
    opts.prot ?? PROT_READ | PROT_WRITE,
    opts.flags ?? MAP_SHARED,
    fd.file,
    fd.offsets[opts.what ?? "doorbell"],
  );
}

export function mmOf(p: Process): MmStruct {
  const mm = p.mm;
  if (mm === null) throw new Error(`pid ${p.pid} has exited`);
  return mm;
}
