/**
 * NIC benchmarks: the simulator's speed at the device's hot paths, and the virtual-time
 * figures the cost model gives for rc_pingpong.
 *
 *   nic.prefetch_1gib_seconds        wall seconds to fault in a 1 GiB explicit ODP MR
 *                                    with one synchronous PREFETCH_WRITE (262,144 pages:
 *                                    gup faults, DMA mapping, one UMR of the MTT)
 *   nic.rdma_write_mb_per_sec        simulated RDMA WRITE payload per wall second, ODP
 *   nic.rdma_write_mb_per_sec_pinned the same with pinned MRs
 *   nic.pingpong_virtual_us.*        virtual microseconds per rc_pingpong round trip
 *                                    (pinned, ODP warm, ODP faulting every iteration,
 *                                    ODP after -P), from the cost model
 *
 * Wall-clock time (performance.now) is read only here, around whole simulated runs.
 */
import type { BenchResult } from "./result.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../src/mm/mmap.ts";
import { PhysMem } from "../src/mm/physMem.ts";
import { Process } from "../src/mm/process.ts";
import { rcPingpong } from "../src/programs/rcPingpong.ts";
import { connectRc, openSide, sideAddress, VerbsError } from "../src/programs/verbsResources.ts";
import { createWorld } from "../src/programs/world.ts";
import { ibvWaitCompletions } from "../src/rdma/core/ibCq.ts";
import { IB_SEND_SIGNALED, ibvPostSend } from "../src/rdma/core/ibQp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_WRITE,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
} from "../src/rdma/core/ibVerbs.ts";
import { ibvAdviseMr, ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../src/rdma/core/verbs.ts";
import { mlx5IbRegisterDevice } from "../src/rdma/mlx5/mlx5Driver.ts";
import { Mlx5IbDev } from "../src/rdma/mlx5/mlx5IbDev.ts";
import { classicMlx5Odp } from "../src/rdma/mlx5/odp/classicOdp.ts";
import { Kernel } from "../src/sim/kernel.ts";
import { FirstRunnable } from "../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../src/sim/task.ts";

const GIB = 2 ** 30;
const PAGE = 4096;

/** Seconds of wall time one synchronous PREFETCH_WRITE of a fresh 1 GiB ODP MR takes. */
export function prefetch1GiB(): number {
  const k = new Kernel({ strategy: new FirstRunnable(), maxSteps: Infinity });
  const phys = new PhysMem(k, { frames: GIB / PAGE + 1024 });
  const proc = new Process(k, phys);
  const dev = new Mlx5IbDev(k, "mlx5_0", phys);
  classicMlx5Odp.kernelSetup(k);
  mlx5IbRegisterDevice(dev, classicMlx5Odp);
  let seconds = -1;
  proc.spawnThread("prefetch", function* (): KGen {
    const mm = proc.mm;
    if (mm === null) return;
    const ctx = yield* ibvOpenDevice(dev, mm, proc.pid);
    if (typeof ctx === "number") return;
    const pd = ibvAllocPd(ctx);
    if (typeof pd === "number") return;
    const addr = yield* vmMmap(mm, 0, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const mr = yield* ibvRegMr(pd, addr, GIB, IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE);
    if (typeof mr === "number") return;
    const t0 = performance.now();
    const sge = { addr, length: GIB, lkey: mr.lkey };
    const ret = yield* ibvAdviseMr(pd, "PREFETCH_WRITE", IB_UVERBS_ADVISE_MR_FLAG_FLUSH, [sge]);
    const t1 = performance.now();
    const mapped = dev.mkeys.get(mr.lkey)?.mtt?.count() ?? 0;
    if (ret === 0 && mapped === GIB / PAGE) seconds = (t1 - t0) / 1000;
  });
  const r = k.run();
  if (seconds < 0 || r.status !== "ok") throw new Error(`1 GiB prefetch failed: ${r.status}`);
  return seconds;
}

/** Simulated RDMA WRITE payload bytes per wall second, 1 MiB messages at path MTU 4096. */
export function rdmaWriteMbPerSec(odp: boolean, messages = 64, size = 2 ** 20): number {
  const w = createWorld({ frames: 2 * (size / PAGE) + 4096, oracle: false });
  const [sh, ch] = w.hosts;
  if (sh === undefined || ch === undefined) throw new Error("two hosts");
  const sproc = sh.spawnProcess();
  const cproc = ch.spawnProcess();
  const access = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | (odp ? IB_ACCESS_ON_DEMAND : 0);
  let t0 = 0;
  let t1 = 0;
  let done = 0;
  cproc.spawnThread("writer", function* (): KGen {
    const s = yield* openSide(sh, sproc, { qpType: "RC", size, mrAccess: access });
    const c = yield* openSide(ch, cproc, { qpType: "RC", size, mrAccess: access });
    if (s instanceof VerbsError || c instanceof VerbsError) return;
    // Like perftest's ib_write_bw, use the port's active MTU (IB_MTU_4096 on mlx5).
    yield* connectRc(s, sideAddress(c), IB_ACCESS_REMOTE_WRITE, 0, 4096);
    yield* connectRc(c, sideAddress(s), IB_ACCESS_REMOTE_WRITE, 0, 4096);
    t0 = performance.now();
    for (let i = 0; i < messages; i++) {
      ibvPostSend(c.qp, {
        wrId: i,
        opcode: "RDMA_WRITE",
        sendFlags: IB_SEND_SIGNALED,
        sgList: [{ addr: c.buf, length: size, lkey: c.mr.lkey }],
        remoteAddr: s.buf,
        rkey: s.mr.rkey,
      });
      const [wc] = yield* ibvWaitCompletions(c.cq, 1);
      if (wc?.status === "SUCCESS") done++;
    }
    t1 = performance.now();
  });
  w.k.run();
  if (done !== messages) throw new Error(`rdma write bench: ${done}/${messages} completed`);
  return (messages * size) / 1e6 / ((t1 - t0) / 1000);
}

function pingpongUs(o: Parameters<typeof rcPingpong>[0]): number {
  const r = rcPingpong({ iters: 200, ...o });
  if (!r.ok) throw new Error(`pingpong failed: ${String(r.error)}`);
  return r.usecPerIter;
}

export async function nicBenchmarks(): Promise<BenchResult[]> {
  await Promise.resolve();
  const best = (f: () => number, n: number, pick: (a: number, b: number) => number) => {
    let v = f();
    for (let i = 1; i < n; i++) v = pick(v, f());
    return v;
  };
  return [
    { id: "nic.prefetch_1gib_seconds", value: best(prefetch1GiB, 2, Math.min), unit: "s" },
    {
      id: "nic.rdma_write_mb_per_sec",
      value: best(() => rdmaWriteMbPerSec(true), 3, Math.max),
      unit: "MB/s",
    },
    {
      id: "nic.rdma_write_mb_per_sec_pinned",
      value: best(() => rdmaWriteMbPerSec(false), 3, Math.max),
      unit: "MB/s",
    },
    { id: "nic.pingpong_virtual_us.pinned", value: pingpongUs({}), unit: "us" },
    { id: "nic.pingpong_virtual_us.odp_warm", value: pingpongUs({ odp: true }), unit: "us" },
    {
      id: "nic.pingpong_virtual_us.odp_fault",
      value: pingpongUs({ odp: true, forceFaults: true }),
      unit: "us",
    },
    {
      id: "nic.pingpong_virtual_us.odp_prefetch",
      value: pingpongUs({ odp: true, prefetch: true }),
      unit: "us",
    },
  ];
}
