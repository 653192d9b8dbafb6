/**
 * Catalog scenario: an IB_ACCESS_HUGETLB ODP MR over one 2 MiB MAP_HUGETLB page, whose
 * VMA the process replaces with ordinary anonymous memory (mmap MAP_FIXED over it)
 * while the device writes into the MR at eight spots 256 KiB apart. A fault after the
 * replacement meets 4 KiB pages where the MR promised a huge page: the kernel must
 * refuse it rather than give the device a 2 MiB translation of frames it was never
 * handed.
 *
 * Models no kernel file: the kind of program (a buffer pool that maps hugetlb memory
 * and remaps it when it shrinks) that breaks the IB_ACCESS_HUGETLB contract.
 */
import type { KGen } from "../../../sim/task.ts";
import { cpuWrite } from "../../../mm/access.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import type { IbMr } from "../../../rdma/core/ibMr.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../../mm/mmap.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../../../mm/page.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
} from "../../../rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../../../rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import { INSTANT_DEVICE, withOdpHost, setupBegins, setupDone, type OdpHost } from "./odpHost.ts";

/** The device's writes: one every STRIDE 4 KiB pages through the huge page. */
const WRITES = 8;
const STRIDE = HPAGE_PMD_SIZE / PAGE_SIZE / WRITES;
/** Room for the huge page and the 512 small pages that may replace it. */
const FRAMES = 2048;

export const hugetlbVmaReplaced: Scenario = {
  name: "hugetlb-vma-replaced",
  description:
    "hugetlb-vma-replaced v1: one 2 MiB MAP_HUGETLB page registered ODP|LOCAL_WRITE|HUGETLB, " +
    "zero-cost faults and UMRs; nic: 8 writes of 16 bytes, 256 KiB apart, stop at the " +
    "first error; remap: mmap(MAP_FIXED) anonymous 4 KiB pages over it, CPU write at " +
    "+256 KiB",
  build: (ctx) => withOdpHost(ctx, setup, FRAMES, { cost: INSTANT_DEVICE }),
};

const FLAGS = MAP_PRIVATE | MAP_ANONYMOUS;

function* setup(host: OdpHost): KGen {
  setupBegins(host);
  const { k, proc, dev } = host;
  const mm = proc.mm;
  if (mm === null) return;
  const addr = yield* vmMmap(mm, 0, HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE, FLAGS | MAP_HUGETLB);
  if (addr < 0) throw new Error(`hugetlb mmap failed: ${addr}`);
  yield* cpuWrite(mm, addr, new Uint8Array(16).fill(0x11));
  const uctx = yield* ibvOpenDevice(dev, mm, proc.pid);
  if (typeof uctx === "number") throw new Error(`open device failed: ${uctx}`);
  const pd = ibvAllocPd(uctx);
  if (typeof pd === "number") throw new Error(`alloc_pd failed: ${pd}`);
  const access = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_HUGETLB;
  const mr = yield* ibvRegMr(pd, addr, HPAGE_PMD_SIZE, access);
  if (typeof mr === "number") throw new Error(`reg_mr failed: ${mr}`);
  setupDone(host);
  k.spawn("nic", { kind: "device", name: dev.name }, () => nic(host, mr, addr));
  proc.spawnThread("remap", () => remap(mm, addr));
}

/** WRITES device writes through the huge page; stops at the first error. */
function* nic(host: OdpHost, mr: IbMr, addr: number): KGen {
  for (let i = 0; i < WRITES; i++) {
    const req = {
      key: mr.lkey,
      va: addr + i * STRIDE * PAGE_SIZE,
      buf: new Uint8Array(16).fill(i),
      write: true,
    };
    if ((yield* mlx5DeviceDma(host.dev, host.design, req)) < 0) return;
  }
}

/** mmap(MAP_FIXED) small anonymous pages over the huge page, then a CPU write. */
function* remap(mm: MmStruct, addr: number): KGen {
  const at = yield* vmMmap(mm, addr, HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE, FLAGS | MAP_FIXED);
  if (at !== addr) throw new Error(`MAP_FIXED mmap failed: ${at}`);
  yield* cpuWrite(mm, addr + STRIDE * PAGE_SIZE, new Uint8Array(16).fill(0x22));
}
