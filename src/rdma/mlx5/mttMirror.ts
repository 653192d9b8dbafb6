/**
 * An ODP mkey's MTT as a device page table: what the device translates, told to the one
 * device-translation interface every mirror uses (src/mm/devicePageTable.ts), so the
 * oracle that watches frames going back to the allocator covers mlx5 as it covers
 * dmirror and a user's driver.
 *
 * Models no kernel file: it is the bookkeeping beside mlx5_ib_update_xlt()
 * (drivers/infiniband/hw/mlx5/umr.c, v6.x; mr.c before v5.19) and destroy_mkey / the
 * revoke UMR. The MTT stays the device's truth (deviceDma.ts translates through it); the
 * mirror follows it at the one moment the device's view changes, when a UMR completes,
 * so a zap counts only once the device has it, exactly as an entry written. An entry
 * with neither read nor write bit translates nothing (the device faults on it).
 *
 * The mirror holds what the device can reach, which is not every MTT it has:
 *
 *   explicit ODP MR     its key, valid: every entry
 *   implicit child      only while a valid parent KSM slot points at it: the driver
 *                       gives the child's own key to no one, so an MTT no slot leads
 *                       to translates nothing (a v5.3 child whose slot moved on to a
 *                       new child may keep a page its release unmapped: unreachable)
 *   disabled key        nothing (destroy_mkey, the revoke UMR)
 *   pinned MR           not mirrored: it holds its pages, and follows no mm
 *
 * Reachability is recomputed from the keys whenever a UMR or a destroy may change it; a
 * table that becomes reachable again is refilled from the MTT as the device has it.
 */
import { DevicePageTable } from "../../mm/devicePageTable.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import { mkeyId, mttPfn, mttReadable, mttWritable, type Mlx5Mkey } from "./mkey.ts";
import type { Mlx5IbMr } from "./mlx5IbMr.ts";

/** MTT entries [first, end) of `mr` as the UMR that completed just now left them. */
export function mirrorMttWrite(mr: Mlx5IbMr, first: number, end: number): void {
  const mkey = mr.mmkey;
  if (mr.umem === null) return;
  mkey.mirrorMm ??= mr.umem.owningMm;
  syncMirror(mr.dev.name, mkey);
  for (let i = first; i < end; i++) mirrorEntry(mkey, i);
}

/**
 * KSM slots of `ksm` rewritten by a UMR that completed just now: the children they
 * pointed at (`before`) and point at now (`after`) may have become (un)reachable.
 */
export function mirrorKsmWrite(
  imr: Mlx5IbMr,
  before: Iterable<Mlx5Mkey | undefined>,
  after: Iterable<Mlx5Mkey | null>,
): void {
  const now = [...after];
  for (const child of now) if (child !== null) child.ksmParent = imr.mmkey;
  for (const child of [...before, ...now]) {
    if (child !== undefined && child !== null) syncMirror(imr.dev.name, child);
  }
}

/**
 * A zap of MTT entries [first, end) of `mr` whose UMR failed: the device keeps them, and
 * a frame freed under one is reported with `why`.
 */
export function mirrorZapFailed(mr: Mlx5IbMr, first: number, end: number, why: string): void {
  const mkey = mr.mmkey;
  const table = mkey.mirror;
  if (table === null) return;
  const span = 2 ** mkey.pageShift;
  for (let i = first; i < end; i++)
    table.keep(mkey.iova + i * span, mkey.iova + (i + 1) * span, why);
}

/**
 * The driver unmapped every page of `mr` and left its MTT as it was (v5.3's mr_leaf_free,
 * for a device it takes to be idle): the device keeps each entry it had, and a frame
 * freed under one is reported with `why`.
 */
export function mirrorUnmappedUnzapped(mr: Mlx5IbMr, why: string): void {
  const mkey = mr.mmkey;
  mkey.mirror?.keep(mkey.iova, mkey.iova + mkey.length, why);
}

/** The device stops translating through `mr`'s key (destroy_mkey, the revoke UMR). */
export function mlx5MkeyDisable(mr: Mlx5IbMr): void {
  const mkey = mr.mmkey;
  mkey.valid = false;
  syncMirror(mr.dev.name, mkey);
  for (const child of mkey.ksm?.values() ?? []) syncMirror(mr.dev.name, child);
}

/** Can the device reach `mkey`'s MTT: a valid key, by itself or through a valid slot? */
function reachable(mkey: Mlx5Mkey): boolean {
  if (!mkey.valid || mkey.mirrorMm === null) return false;
  if (!mkey.reachedThroughKsm) return true;
  const parent = mkey.ksmParent;
  if (parent === null || !parent.valid) return false;
  return parent.ksm?.get(Math.floor((mkey.iova - parent.iova) / parent.slotSize)) === mkey;
}

/** Makes or drops `mkey`'s mirror as the device can now reach it (refilled from the MTT). */
function syncMirror(dev: string, mkey: Mlx5Mkey): void {
  const can = reachable(mkey);
  if (!can && mkey.mirror !== null) {
    mkey.mirror.destroy();
    mkey.mirror = null;
  } else if (can && mkey.mirror === null && mkey.mirrorMm !== null) {
    const name = `${dev} mkey ${mkey.key}`;
    const entryId = (va: number): string =>
      mkeyId(mkey.key, Math.floor((va - mkey.iova) / 2 ** mkey.pageShift));
    mkey.mirror = new DevicePageTable(mkey.mirrorMm.k, name, mkey.mirrorMm, { entryId });
    mkey.mtt?.forEachSet(0, mkey.mtt.length, (i) => {
      mirrorEntry(mkey, i);
    });
  }
}

/** MTT entry `i` of `mkey` into its mirror, if it has one. */
function mirrorEntry(mkey: Mlx5Mkey, i: number): void {
  const table = mkey.mirror;
  if (table === null || mkey.mtt === null || mkey.mttGen === null) return;
  const span = 2 ** mkey.pageShift;
  const va = mkey.iova + i * span;
  const entry = mkey.mtt.get(i);
  if (!mttReadable(entry) && !mttWritable(entry)) {
    table.drop(va, va + span);
    return;
  }
  const translation = { write: mttWritable(entry), generation: mkey.mttGen.get(i) - 1 };
  // A huge MTT entry translates each of its small pages; the generation is the head's.
  for (let off = 0; off < span; off += PAGE_SIZE) {
    table.map(va + off, { ...translation, pfn: mttPfn(entry) + off / PAGE_SIZE });
  }
}
