/**
 * Hosts on a wire: each with its own physical memory, processes and mlx5 device, all
 * in one simulated kernel (one scheduler and one virtual clock for the whole run).
 *
 * Models no kernel file: it is the machine room, the equivalent of two servers with a
 * cable between their HCAs. The kernel is shared so one schedule orders every task of
 * every host, and a run replays exactly.
 */
import type { Kernel } from "../../sim/kernel.ts";
import { PhysMem } from "../../mm/physMem.ts";
import { Process } from "../../mm/process.ts";
import type { IbOdpCaps } from "../core/ibVerbs.ts";
import type { CostModel } from "../mlx5/costModel.ts";
import { mlx5IbRegisterDevice } from "../mlx5/mlx5Driver.ts";
import { Mlx5IbDev } from "../mlx5/mlx5IbDev.ts";
import type { Mlx5OdpDesign } from "../mlx5/odp/mlx5OdpDesign.ts";
import { Wire } from "./wire.ts";

export interface RdmaHostOptions {
  readonly design: Mlx5OdpDesign;
  /** Frames of RAM (default 4096: 16 MiB). */
  readonly frames?: number;
  readonly hugetlbPages?: number;
  readonly cost?: Partial<CostModel>;
  readonly odpCaps?: IbOdpCaps;
}

export interface RdmaHost {
  readonly name: string;
  readonly k: Kernel;
  readonly phys: PhysMem;
  readonly dev: Mlx5IbDev;
  readonly design: Mlx5OdpDesign;
  /** The device's LID on the wire. */
  readonly lid: number;
  /** Starts a process on this host. */
  spawnProcess(): Process;
}

/** A host with its device registered and plugged into `wire`. */
export function createRdmaHost(wire: Wire, name: string, options: RdmaHostOptions): RdmaHost {
  const k = wire.k;
  const phys = new PhysMem(k, {
    frames: options.frames ?? 4096,
    ...(options.hugetlbPages === undefined ? {} : { hugetlbPages: options.hugetlbPages }),
  });
  const dev = new Mlx5IbDev(k, `${name}/mlx5_0`, phys, {
    ...(options.cost === undefined ? {} : { cost: options.cost }),
    ...(options.odpCaps === undefined ? {} : { odpCaps: options.odpCaps }),
  });
  options.design.kernelSetup(k);
  mlx5IbRegisterDevice(dev, options.design);
  const lid = wire.attach(dev);
  return {
    name,
    k,
    phys,
    dev,
    design: options.design,
    lid,
    spawnProcess: () => new Process(k, phys),
  };
}

/** Hosts named `names`, joined by one wire. */
export function createFabric(
  k: Kernel,
  names: readonly string[],
  options: RdmaHostOptions,
): { wire: Wire; hosts: RdmaHost[] } {
  const wire = new Wire(k);
  return { wire, hosts: names.map((n) => createRdmaHost(wire, n, options)) };
}
