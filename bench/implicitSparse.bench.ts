/**
 * Implicit ODP memory: one implicit MR (interval design) that the device touches at
 * 1,000 pages scattered across 128 TiB, each mapped by the process with MAP_FIXED. The
 * figure is how much JavaScript memory (heap plus array buffers) the simulated world
 * holds afterwards: children are 1 GiB each, so this checks that nothing is per page of
 * the covered range.
 */
import type { BenchResult } from "./result.ts";
import { cpuWrite } from "../src/mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../src/mm/mmap.ts";
import { TASK_SIZE } from "../src/mm/mmStruct.ts";
import { PhysMem } from "../src/mm/physMem.ts";
import { Process } from "../src/mm/process.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IMPLICIT_ODP_LENGTH,
} from "../src/rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../src/rdma/mlx5/deviceDma.ts";
import { mlx5IbRegisterDevice } from "../src/rdma/mlx5/mlx5Driver.ts";
import { Mlx5IbDev } from "../src/rdma/mlx5/mlx5IbDev.ts";
import { intervalMlx5Odp } from "../src/rdma/mlx5/odp/intervalOdp.ts";
import { Kernel } from "../src/sim/kernel.ts";
import { FirstRunnable } from "../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../src/sim/task.ts";

const TOUCHES = 1_000;
const PAGE = 4096;

/** Live bytes: after a full GC when node runs with --expose-gc (run.ts's suite processes). */
function usedBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Runs the workload; returns the world (kept alive by the caller) and pages touched. */
function sparseWorld(): { k: Kernel; touched: number } {
  const k = new Kernel({
    seed: 0,
    strategy: new FirstRunnable(),
    maxSteps: Number.MAX_SAFE_INTEGER,
  });
  intervalMlx5Odp.kernelSetup(k);
  const phys = new PhysMem(k, { frames: 4 * TOUCHES });
  const proc = new Process(k, phys);
  const dev = new Mlx5IbDev(k, "mlx5_0", phys);
  mlx5IbRegisterDevice(dev, intervalMlx5Odp);
  let touched = 0;
  proc.spawnThread("app", function* (): KGen {
    const mm = proc.mm;
    if (mm === null) return;
    const ctx = yield* ibvOpenDevice(dev, mm, proc.pid);
    if (typeof ctx === "number") throw new Error(`open: ${ctx}`);
    const pd = ibvAllocPd(ctx);
    if (typeof pd === "number") throw new Error(`alloc_pd: ${pd}`);
    const mr = yield* ibvRegMr(
      pd,
      0,
      IMPLICIT_ODP_LENGTH,
      IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE,
    );
    if (typeof mr === "number") throw new Error(`implicit reg_mr: ${mr}`);
    const stride = Math.floor((TASK_SIZE - 2 ** 32) / TOUCHES / PAGE) * PAGE;
    for (let i = 0; i < TOUCHES; i++) {
      const addr = 2 ** 32 + i * stride;
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      if ((yield* vmMmap(mm, addr, PAGE, PROT_READ | PROT_WRITE, flags)) !== addr)
        throw new Error("mmap");
      yield* cpuWrite(mm, addr, new Uint8Array([1]));
      const req = { key: mr.lkey, va: addr, buf: new Uint8Array(8), write: true };
      if ((yield* mlx5DeviceDma(dev, intervalMlx5Odp, req)) === 0) touched++;
    }
  });
  const r = k.run();
  if (r.status !== "ok") throw new Error(`implicit sparse run: ${r.status}`);
  return { k, touched };
}

export async function implicitSparseBenchmarks(): Promise<BenchResult[]> {
  await Promise.resolve();
  const before = usedBytes();
  const world = sparseWorld();
  const mb = (usedBytes() - before) / 2 ** 20;
  if (world.touched !== TOUCHES) throw new Error(`touched ${world.touched} of ${TOUCHES} pages`);
  return [{ id: "nic.implicit_sparse_rss_mb", value: mb, unit: "MB" }];
}
