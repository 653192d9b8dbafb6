/**
 * A host for a scenario written against the public API: a kernel made from the run's
 * context (seed, strategy, trace, timing, faults, defects), its physical memory, and one
 * process with an address space, whose threads the scenario spawns. The device
 * translation oracle watches every DevicePageTable made on it.
 *
 * Models no kernel file: this is the test bench a user's scenario starts from, the one
 * the catalog's own dmirror scenarios build by hand.
 */
import { Kernel } from "../sim/kernel.ts";
import { PhysMem } from "../mm/physMem.ts";
import { Process } from "../mm/process.ts";
import { attachDeviceTranslationOracle } from "./oracles/deviceAccess.ts";
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
