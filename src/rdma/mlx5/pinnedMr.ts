/**
 * Pinned (non-ODP) memory regions: the IB core pins the pages at registration
 * (ib_umem_get, src/rdma/core/umem.ts) and the driver writes the MTT once, so the
 * device never faults on them.
 *
 * Models the non-ODP branch of mlx5_ib_reg_user_mr / create_real_mr / mlx5_ib_dereg_mr
 * (drivers/infiniband/hw/mlx5/mr.c): take the umem, create the mkey with a fully
 * populated MTT from the umem's scatter list, and at deregistration destroy the mkey
 * before the umem is released (which unpins, dirtying the pages if writable).
 *
 * Simplification: the mkey covers the page-aligned span of the buffer, so the device
 * accepts accesses anywhere in the first and last page.
 */
import { EINVAL } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../mm/page.ts";
import type { IbPd } from "../core/ibPd.ts";
import { ibAccessWritable } from "../core/ibVerbs.ts";
import { ibUmemGet, ibUmemPfns, ibUmemRelease } from "../core/umem.ts";
import { Mlx5Mkey, mttEntry } from "./mkey.ts";
import type { Mlx5IbDev } from "./mlx5IbDev.ts";
import { Mlx5IbMr } from "./mlx5IbMr.ts";

/** reg_user_mr without IB_ACCESS_ON_DEMAND. */
export function* mlx5RegPinnedMr(
  dev: Mlx5IbDev,
  pd: IbPd,
  start: number,
  length: number,
  access: number,
): KGen<Mlx5IbMr | number> {
  if (length <= 0) return EINVAL;
  const umem = yield* ibUmemGet(pd.uctx, start, length, access);
  if (typeof umem === "number") return umem;
  const first = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  const key = dev.allocKey();
  const mkey = new Mlx5Mkey(key, "mtt", pd.pdn, first, umem.npages * PAGE_SIZE, PAGE_SHIFT);
  const mtt = mkey.mtt;
  const gen = mkey.mttGen;
  if (mtt === null || gen === null) throw new Error("an MTT mkey without an MTT");
  const writable = ibAccessWritable(access);
  ibUmemPfns(umem).forEach((pfn, i) => {
    mtt.set(i, mttEntry(pfn, true, writable));
    gen.set(i, dev.phys.pfnToPage(pfn).generation + 1);
  });
  const mr = new Mlx5IbMr(dev.k, { dev, pd, mkey, access, umem: null });
  mr.pinnedUmem = umem;
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, mr);
  mr.live = true;
  yield "reg pinned mr";
  return mr;
}

/** dereg_mr of a pinned MR: the device forgets the key, then the umem is released. */
export function* mlx5DeregPinnedMr(mr: Mlx5IbMr): KGen<number> {
  const dev = mr.dev;
  const umem = mr.pinnedUmem;
  if (umem === null) return EINVAL;
  mr.live = false;
  mr.mmkey.valid = false;
  dev.mkeys.delete(mr.mmkey.key);
  dev.mrs.delete(mr.mmkey.key);
  yield "destroy_mkey";
  mr.pinnedUmem = null;
  yield* ibUmemRelease(umem);
  dev.k.kasan.free(mr);
  return 0;
}
