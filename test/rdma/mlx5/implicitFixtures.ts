/**
 * Fixtures for the implicit-MR tests of the per_mm designs (classic as v5.3, hmm-mirror as
 * seed 002 posted it), which share src/rdma/mlx5/odp/perMmImplicit.ts.
 */
import assert from "node:assert/strict";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { ClassicUmemOdp } from "../../../src/rdma/core/odp/classicUmemOdp.ts";
import { HmmMirrorUmemOdp } from "../../../src/rdma/core/odp/hmmMirrorUmemOdp.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IMPLICIT_ODP_LENGTH,
} from "../../../src/rdma/core/ibVerbs.ts";
import type { IbPd } from "../../../src/rdma/core/ibPd.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import type { Mlx5Mkey } from "../../../src/rdma/mlx5/mkey.ts";
import { isMlx5IbMr, Mlx5IbMr } from "../../../src/rdma/mlx5/mlx5IbMr.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { Strategy } from "../../../src/sim/strategy.ts";
import type { KGen } from "../../../src/sim/task.ts";
import type { Mlx5DevOptions } from "../../../src/rdma/mlx5/mlx5IbDev.ts";

export const ODP_RW = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;
export const GIB = 2 ** 30;

/** The designs whose implicit MRs keep their children in a per_mm tree (v5.3, seed 002). */
export type PerMmDesign = "classic" | "hmm-mirror";
export const PER_MM_DESIGNS: readonly PerMmDesign[] = ["classic", "hmm-mirror"];

/** A umem of a per_mm design. */
export type PerMmUmem = ClassicUmemOdp | HmmMirrorUmemOdp;

export function implicitHost(
  design: PerMmDesign,
  strategy: Strategy = new FirstRunnable(),
  seed = 1,
  dev: Mlx5DevOptions = {},
  defects: readonly string[] = [],
) {
  return odpHost({ seed, strategy, design, defects }, 256, dev);
}
export type Host = ReturnType<typeof implicitHost>;

export function mmOf(h: Host): MmStruct {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("process exited");
  return mm;
}

export function* openPd(h: Host): KGen<IbPd> {
  const ctx = yield* ibvOpenDevice(h.dev, mmOf(h), h.proc.pid);
  assert.ok(typeof ctx !== "number");
  const pd = ibvAllocPd(ctx);
  assert.ok(typeof pd !== "number");
  return pd;
}

/** An anonymous mapping of `pages` at exactly `addr`. */
export function* anonAt(h: Host, addr: number, pages: number): KGen<number> {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  const got = yield* vmMmap(mmOf(h), addr, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
  assert.equal(got, addr);
  return got;
}

export function* implicitMr(pd: IbPd): KGen<Mlx5IbMr> {
  const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW);
  assert.ok(
    imr instanceof Mlx5IbMr,
    `implicit reg_mr failed: ${typeof imr === "number" ? imr : "?"}`,
  );
  return imr;
}

/** The live children of `imr` in the per_mm tree, in address order. */
export function childrenOf(imr: Mlx5IbMr): PerMmUmem[] {
  const root = imr.umem;
  assert.ok(root instanceof ClassicUmemOdp || root instanceof HmmMirrorUmemOdp);
  const out: PerMmUmem[] = [];
  root.perMm?.umemTree.forEachOverlap(0, Number.MAX_SAFE_INTEGER, (n) => {
    const mr = n.value.driverPrivate;
    if (mr instanceof Mlx5IbMr && mr.parent === imr) out.push(n.value);
  });
  return out;
}

/** The KSM slots of an implicit parent's mkey. */
export function ksmOf(imr: Mlx5IbMr): Map<number, Mlx5Mkey> {
  const ksm = imr.mmkey.ksm;
  assert.ok(ksm);
  return ksm;
}

export function childMr(odp: PerMmUmem): Mlx5IbMr {
  const mr = odp.driverPrivate;
  assert.ok(isMlx5IbMr(mr));
  return mr;
}

export function* devWrite(h: Host, key: number, va: number, data: Uint8Array): KGen<number> {
  return yield* mlx5DeviceDma(h.dev, h.design, { key, va, buf: data, write: true });
}

export function cpuBytes(h: Host, va: number, n: number): number[] {
  const cpu = walkPte(mmOf(h), va);
  assert.ok(cpu, `no CPU mapping at ${va.toString(16)}`);
  const back = new Uint8Array(n);
  h.phys.readBytes(cpu.pte.pfn, va % PAGE_SIZE, back, 0, n);
  return [...back];
}

export function runOk(h: Host): void {
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

export function noOdpObjectsLeft(h: Host): void {
  const live = h.k.kasan.liveObjects().map((o) => o.objKind);
  assert.ok(
    !live.some((k) => k.startsWith("umem_odp") || k === "mlx5_ib_mr" || k === "ib_ucontext_per_mm"),
    live.join(","),
  );
}
