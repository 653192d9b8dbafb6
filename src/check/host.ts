/**
 * A host for a scenario written against the public API: a kernel made from the run's
 * context (seed, strategy, trace, timing, faults, defects), its physical memory, and one
 * process with an address space, whose threads the scenario spawns. The device
 * translation oracle watches every DevicePageTable made on it. `newOdpHost` adds an
 * mlx5 device registered with the context's ODP design and its uverbs character
 * device, watched by the device-access and fault-progress oracles, as the catalog's ODP
 * scenarios have (mlx5HostDevice is their shared setup).
 *
 * Models no kernel file: this is the test bench a user's scenario starts from, the one
 * the catalog's own dmirror scenarios build by hand.
 */
import { Kernel } from "../sim/kernel.ts";
import { PhysMem } from "../mm/physMem.ts";
import { Process } from "../mm/process.ts";
import { uverbsMmapDesign } from "../rdma/core/uverbs/designs.ts";
import { IbUverbsDevice } from "../rdma/core/uverbs/uverbsDevice.ts";
import { mlx5IbRegisterDevice } from "../rdma/mlx5/mlx5Driver.ts";
import { Mlx5IbDev, type Mlx5DevOptions } from "../rdma/mlx5/mlx5IbDev.ts";
import { mlx5UverbsDriver } from "../rdma/mlx5/mlx5Uverbs.ts";
import { setupMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";
import type { Mlx5OdpDesign } from "../rdma/mlx5/odp/mlx5OdpDesign.ts";
import { attachDeviceAccessOracle, attachDeviceTranslationOracle } from "./oracles/deviceAccess.ts";
import { attachFaultProgressOracle } from "./oracles/faultProgress.ts";
import { contextKernelOptions, type ScenarioContext } from "./scenario.ts";

/** Frames of RAM a host gets unless told otherwise. */
export const HOST_DEFAULT_FRAMES = 256;
/** Steps a run may take before it is cut off (and judges nothing). */
export const HOST_DEFAULT_MAX_STEPS = 50_000;

export interface HostOptions {
  /** Frames of RAM. Default HOST_DEFAULT_FRAMES. */
  readonly frames?: number;
  /** The step bound. Default HOST_DEFAULT_MAX_STEPS. */
  readonly maxSteps?: number;
}

export interface Host {
  readonly k: Kernel;
  readonly phys: PhysMem;
  /** A process with a fresh mm: spawn the scenario's threads with `proc.spawnThread`. */
  readonly proc: Process;
}

/** A fresh kernel for one run of `ctx`, with memory and one process, nothing spawned. */
export function newHost(ctx: ScenarioContext, options: HostOptions = {}): Host {
  const k = new Kernel({
    ...contextKernelOptions(ctx),
    defects: ctx.defects ?? [],
    maxSteps: options.maxSteps ?? HOST_DEFAULT_MAX_STEPS,
  });
  attachDeviceTranslationOracle(k);
  const phys = new PhysMem(k, { frames: options.frames ?? HOST_DEFAULT_FRAMES });
  return { k, phys, proc: new Process(k, phys) };
}

/** An mlx5 device on a host, registered with one ODP design, and its uverbs device. */
export interface Mlx5HostDevice {
  readonly dev: Mlx5IbDev;
  /** The uverbs character device processes open (`ibvOpenDevice`). */
  readonly udev: IbUverbsDevice;
  readonly design: Mlx5OdpDesign;
}

/**
 * mlx5_0 on `phys`, its driver registered with the design `designName` (the context's,
 * default DEFAULT_MLX5_ODP_DESIGN), watched by the device-access and fault-progress oracles,
 * and its uverbs device. No IO memory is mapped through it by default, so the uverbs mmap
 * design is the modern one.
 */
export function mlx5HostDevice(
  k: Kernel,
  phys: PhysMem,
  designName?: string,
  devOptions: Mlx5DevOptions = {},
): Mlx5HostDevice {
  const dev = new Mlx5IbDev(k, "mlx5_0", phys, devOptions);
  const design = setupMlx5OdpDesign(k, designName);
  mlx5IbRegisterDevice(dev, design);
  attachDeviceAccessOracle(dev);
  attachFaultProgressOracle(dev);
  const udev = new IbUverbsDevice(k, phys, dev, mlx5UverbsDriver(dev), uverbsMmapDesign("entry"));
  return { dev, udev, design };
}

export type OdpHost = Host & Mlx5HostDevice;

/**
 * newHost() plus an mlx5 device with ODP (the context's design: `--design`, or a
 * scenario's) that the process opens with `ibvOpenDevice(host.udev, host.proc)`.
 */
export function newOdpHost(ctx: ScenarioContext, options: HostOptions = {}): OdpHost {
  const host = newHost(ctx, options);
  return { ...host, ...mlx5HostDevice(host.k, host.phys, ctx.design) };
}
