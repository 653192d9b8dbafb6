/**
 * Pinned (non-ODP) memory regions: the pages are pinned at registration and the MTT is
 * written once, so the device never faults on them.
 *
 * Models ib_umem_get() (drivers/infiniband/core/umem.c: pin_user_pages with
 * FOLL_LONGTERM, FOLL_WRITE when the access is writable) and the non-ODP branch of
 * mlx5_ib_reg_user_mr / mlx5_ib_dereg_mr (drivers/infiniband/hw/mlx5/mr.c): create the
 * mkey with a fully populated MTT, and at deregistration destroy the mkey before the
 * pages are unpinned (dirtied if the device could write them).
 *
 * Simplification: the mkey covers the page-aligned span of the buffer, so the device
 * accepts accesses anywhere in the first and last page.
 */
import { EFAULT, EINVAL } from "../../sim/errno.ts";
import type { KGen } from "../../sim/task.ts";
import { pinUserPagesRemote, unpinUserPagesDirtyLock } from "../../mm/gup.ts";
import { mmapReadLock, mmapReadUnlock } from "../../mm/mmStruct.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../mm/page.ts";
import type { IbPd } from "../core/ibPd.ts";
import { ibAccessWritable } from "../core/ibVerbs.ts";
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
  if (length <= 0 || start < 0 || !Number.isSafeInteger(start + length)) return EINVAL;
  const mm = pd.uctx.mm;
  const first = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  const npages = Math.ceil((start + length - first) / PAGE_SIZE);
  const writable = ibAccessWritable(access);
  const pfns: number[] = [];
  yield* mmapReadLock(mm);
  const got = yield* pinUserPagesRemote(
    mm,
    first,
    npages,
    { write: writable, longterm: true },
    pfns,
  );
  mmapReadUnlock(mm);
  if (got < npages) {
    unpinUserPagesDirtyLock(mm.phys, pfns, false);
    return got < 0 ? got : EFAULT;
  }
  const mkey = new Mlx5Mkey(dev.allocKey(), "mtt", pd.pdn, first, npages * PAGE_SIZE, PAGE_SHIFT);
  const mtt = mkey.mtt;
  const gen = mkey.mttGen;
  if (mtt === null || gen === null) throw new Error("an MTT mkey without an MTT");
  pfns.forEach((pfn, i) => {
    mtt.set(i, mttEntry(pfn, true, writable));
    gen.set(i, mm.phys.pfnToPage(pfn).generation + 1);
  });
  const mr = new Mlx5IbMr(dev.k, { dev, pd, mkey, access, umem: null });
  mr.pinnedPfns = pfns;
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, mr);
  mr.live = true;
  yield "reg pinned mr";
  return mr;
}

/** dereg_mr of a pinned MR: the device forgets the key, then the pages are unpinned. */
export function* mlx5DeregPinnedMr(mr: Mlx5IbMr): KGen<number> {
  const dev = mr.dev;
  const pfns = mr.pinnedPfns;
  if (pfns === null) return EINVAL;
  mr.live = false;
  mr.mmkey.valid = false;
  dev.mkeys.delete(mr.mmkey.key);
  dev.mrs.delete(mr.mmkey.key);
  yield "destroy_mkey";
  unpinUserPagesDirtyLock(mr.pd.uctx.mm.phys, pfns, ibAccessWritable(mr.access));
  mr.pinnedPfns = null;
  dev.k.kasan.free(mr);
  return 0;
}
