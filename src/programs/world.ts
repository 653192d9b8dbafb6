/**
 * The machine room programs run in: one simulated kernel, two (or more) hosts on a
 * wire, the device-access oracle watching every device, and a way to run it to the end.
 *
 * Models no kernel file.
 */
import { attachDeviceAccessOracle } from "../check/oracles/deviceAccess.ts";
import { Kernel, type RunResult } from "../sim/kernel.ts";
import { FirstRunnable } from "../sim/strategies/firstRunnable.ts";
import type { Strategy } from "../sim/strategy.ts";
import type { IbOdpCaps } from "../rdma/core/ibVerbs.ts";
import type { CostModel } from "../rdma/mlx5/costModel.ts";
import { setupMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";
import { mlx5PortOf } from "../rdma/mlx5/qp/mlx5Port.ts";
import { createFabric, type RdmaHost } from "../rdma/wire/rdmaHost.ts";
import type { Wire } from "../rdma/wire/wire.ts";

export interface WorldOptions {
  readonly seed?: number;
  readonly strategy?: Strategy;
  readonly design?: string;
  readonly hosts?: readonly string[];
  readonly frames?: number;
  readonly hugetlbPages?: number;
  readonly odpCaps?: IbOdpCaps;
  readonly cost?: Partial<CostModel>;
  readonly maxSteps?: number;
  readonly defects?: readonly string[];
  /** Attach the device-access oracle to every device (default true). */
  readonly oracle?: boolean;
}

export interface World {
  readonly k: Kernel;
  readonly wire: Wire;
  readonly hosts: readonly RdmaHost[];
}

export function createWorld(o: WorldOptions = {}): World {
  const k = new Kernel({
    seed: o.seed ?? 0,
    strategy: o.strategy ?? new FirstRunnable(),
    maxSteps: o.maxSteps ?? 50_000_000,
    defects: o.defects ?? [],
  });
  const design = setupMlx5OdpDesign(k, o.design);
  const { wire, hosts } = createFabric(k, o.hosts ?? ["server", "client"], {
    design,
    frames: o.frames ?? 8192,
    ...(o.hugetlbPages === undefined ? {} : { hugetlbPages: o.hugetlbPages }),
    ...(o.odpCaps === undefined ? {} : { odpCaps: o.odpCaps }),
    ...(o.cost === undefined ? {} : { cost: o.cost }),
  });
  if (o.oracle !== false) for (const h of hosts) attachDeviceAccessOracle(h.dev);
  return { k, wire, hosts };
}

/** Runs the world; a violation or an odpsim error becomes a thrown Error. */
export function runWorld(w: World): RunResult {
  const r = w.k.run();
  if (r.internalError !== null) {
    throw new Error(`${r.internalError.message}\n${r.internalError.stack ?? ""}`);
  }
  if (r.status !== "ok") {
    throw new Error(`run ended ${r.status}: ${JSON.stringify(r.violations.slice(0, 3))}`);
  }
  return r;
}

/** The page faults the devices' QPs raised so far, over all hosts. */
export function totalPageFaults(w: World): number {
  let n = 0;
  for (const h of w.hosts) {
    n += mlx5PortOf(h.dev)?.stats.pageFaults ?? 0;
  }
  return n;
}
