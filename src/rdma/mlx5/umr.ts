/**
 * UMR: the driver rewriting an mkey's translation through the device's UMR queue.
 *
 * Models mlx5_ib_update_xlt() (drivers/infiniband/hw/mlx5/mr.c, umr.c): entries are
 * written in blocks aligned to MLX5_UMR_MTT_ALIGNMENT, populated from the umem's DMA
 * list (so the extra entries of a block get their current values) or zeroed (ZAP). The
 * UMR is posted on one UMR QP and waited for, so UMRs are serialized and take virtual
 * time; the new entries become visible to the device when the UMR completes, and only
 * then does the device-translation oracle see them (mttMirror.ts). For an
 * implicit parent, the INDIRECT form rewrites KSM slots from the children table; the
 * revoke (mlx5r_umr_revoke_mr, v5.19+) disables an mkey.
 */
import { EFAULT, EIO } from "../../sim/errno.ts";
import { accessFields, indexRange } from "../../sim/objectAccess.ts";
import type { KGen } from "../../sim/task.ts";
import { PAGE_SHIFT, frameId } from "../../mm/page.ts";
import { ODP_READ_ALLOWED_BIT, ODP_WRITE_ALLOWED_BIT, umemDmaId } from "../core/umemOdp.ts";
import { MLX5_UMR_MTT_BLOCK_ENTRIES, mkeyId, mttEntry, mttPfn, type Mlx5Mkey } from "./mkey.ts";
import type { Mlx5IbMr } from "./mlx5IbMr.ts";
import { mirrorKsmWrite, mirrorMttWrite, mirrorZapFailed, mlx5MkeyDisable } from "./mttMirror.ts";

/** MLX5_IB_UPD_XLT_ZAP: write empty entries. */
export const MLX5_IB_UPD_XLT_ZAP = 1 << 0;

/**
 * mlx5_ib_update_xlt(mr, idx, npages, flags): 0, or -EIO when the UMR fails (injected at
 * the `umr` site). Nothing is written then; the kernel warns ("reg umr failed"), and the
 * callers that zap (every era's mlx5_ib_invalidate_range) ignore the error, so the
 * device keeps entries whose pages are unmapped next (finding *-zap-failure-keeps-
 * translation, src/check/catalog/findings.ts).
 */
export function* mlx5IbUpdateXlt(
  mr: Mlx5IbMr,
  idx: number,
  npages: number,
  flags: number,
): KGen<number> {
  const dev = mr.dev;
  const k = dev.k;
  if (!k.kasan.check(mr, "mlx5_ib_update_xlt uses the mr")) return EFAULT;
  // Fault injection: the UMR post fails (mlx5_ib_post_send_wait returning an error).
  if (k.shouldFail("umr")) return umrFailed(mr, idx, npages, flags);
  const mtt = mr.mmkey.mtt;
  const gen = mr.mmkey.mttGen;
  if (mtt === null || gen === null) throw new Error("update_xlt on a non-MTT mkey");
  const first = idx - (idx % MLX5_UMR_MTT_BLOCK_ENTRIES);
  const end = Math.min(
    mtt.length,
    Math.ceil((idx + npages) / MLX5_UMR_MTT_BLOCK_ENTRIES) * MLX5_UMR_MTT_BLOCK_ENTRIES,
  );
  const zap = (flags & MLX5_IB_UPD_XLT_ZAP) !== 0;
  const values = zap ? null : populate(mr, first, end);
  const qp = dev.umrSem;
  yield* qp.lock();
  k.event("umr_post", { mkey: mr.mmkey.key, first, count: end - first, zap });
  yield* k.sleep(dev.cost.umrNs + dev.cost.umrPerEntryNs * (end - first));
  for (let i = first; i < end; i++) {
    const v = values === null ? null : (values[i - first] as [number, number]);
    mtt.set(i, v === null ? 0 : v[0]);
    gen.set(i, v === null ? 0 : v[1]);
  }
  mirrorMttWrite(mr, first, end);
  k.event("umr_done", { mkey: mr.mmkey.key, first, count: end - first, zap });
  if (k.trace !== null) traceXlt(mr, first, end, values);
  qp.unlock();
  return 0;
}

/**
 * A UMR that failed: nothing written; a failed zap leaves the device its entries. The MTT
 * keeps its values, but the device's translations of them are now ones a zap meant to
 * drop (mirrorZapFailed notes why, and a frame freed under one is reported with it):
 * the event declares that write of the entries, so a race report's slice finds the
 * failed zap behind a violation that names one. A failed update that is no zap changes
 * nothing the device holds, and declares nothing.
 */
function umrFailed(mr: Mlx5IbMr, idx: number, npages: number, flags: number): number {
  const zap = (flags & MLX5_IB_UPD_XLT_ZAP) !== 0;
  const k = mr.dev.k;
  const kept = zap && k.trace !== null && mr.mmkey.mirror !== null;
  k.event("reg umr failed", {
    mkey: mr.mmkey.key,
    first: idx,
    count: npages,
    zap,
    ...(kept ? accessFields([], [mkeyId(mr.mmkey.key, idx, npages)]) : {}),
  });
  if (zap) {
    const why = `the zap UMR of MTT${indexRange(idx, npages)} failed`;
    mirrorZapFailed(mr, idx, idx + npages, why);
  }
  return EIO;
}

/**
 * The entries one UMR wrote, for the trace: `MTT[0] = pfn 5`, runs of empty entries as
 * one range; reads of the umem's DMA list and the frames it named.
 */
function traceXlt(mr: Mlx5IbMr, first: number, end: number, values: [number, number][] | null) {
  const fields: Record<string, string | number> = { mkey: mr.mmkey.key };
  const reads: string[] = [];
  const pages = 2 ** (mr.mmkey.pageShift - PAGE_SHIFT);
  let run = first;
  const flush = (at: number) => {
    if (at > run) fields[`MTT${indexRange(run, at - run)}`] = "empty";
  };
  for (let i = first; i < end; i++) {
    const [entry, genPlus1] = values?.[i - first] ?? [0, 0];
    if (entry === 0) continue;
    flush(i);
    run = i + 1;
    fields[`MTT[${i}]`] = `pfn ${mttPfn(entry)}`;
    reads.push(frameId(mttPfn(entry), pages, genPlus1 - 1));
  }
  flush(end);
  if (values !== null && mr.umem !== null) reads.unshift(umemDmaId(mr.umem, first, end - first));
  const writes = [mkeyId(mr.mmkey.key, first, end - first)];
  mr.dev.k.event("mlx5_ib_update_xlt", { ...fields, ...accessFields(reads, writes) });
}

/** The MTT entries (and frame generations) of [first, end) from the umem's lists. */
function populate(mr: Mlx5IbMr, first: number, end: number): [number, number][] {
  const umem = mr.umem;
  const out: [number, number][] = [];
  for (let i = first; i < end; i++) {
    const pfnPlus1 = umem?.pageList?.get(i) ?? 0;
    const access = umem?.dmaList?.get(i) ?? 0;
    if (pfnPlus1 === 0) {
      out.push([0, 0]);
      continue;
    }
    const page = mr.dev.phys.pfnToPage(pfnPlus1 - 1);
    const read = (access & ODP_READ_ALLOWED_BIT) !== 0 || (access & ODP_WRITE_ALLOWED_BIT) !== 0;
    const write = (access & ODP_WRITE_ALLOWED_BIT) !== 0;
    out.push([mttEntry(pfnPlus1 - 1, read, write), page.generation + 1]);
  }
  return out;
}

/**
 * mlx5_ib_update_xlt(imr, idx, n, MLX5_IB_UPD_XLT_INDIRECT): rewrites KSM slots
 * [idx, idx + n) of an implicit parent from its children table (populate_klm): a slot
 * points at its child's mkey, or at the null mkey when the table has none. The parent's
 * umem_mutex is held: populate_klm() asserts it (v5.5+), since the table is read
 * without a lock of its own and the mutex orders a child's publication before the UMR.
 */
export function* mlx5IbUpdateKsm(imr: Mlx5IbMr, idx: number, n: number): KGen<number> {
  if (!imr.dev.k.kasan.check(imr, "mlx5_ib_update_xlt(INDIRECT) uses the parent mr")) {
    return EFAULT;
  }
  if (imr.umem === null) throw new Error("update_xlt(INDIRECT) on an MR without a umem");
  imr.umem.umemMutex.assertHeld();
  const slots = new Map<number, Mlx5Mkey | null>();
  for (let i = idx; i < idx + n; i++) slots.set(i, imr.children.get(i)?.mmkey ?? null);
  return yield* mlx5IbUpdateKsmSlots(imr, slots);
}

/**
 * The UMR of an INDIRECT update once populate_klm has filled its entries: each slot of
 * `slots` gets its child's mkey, or the null mkey. The entries are what the caller read
 * before the post; they reach the device when the UMR completes.
 */
export function* mlx5IbUpdateKsmSlots(
  imr: Mlx5IbMr,
  slots: ReadonlyMap<number, Mlx5Mkey | null>,
): KGen<number> {
  const dev = imr.dev;
  const k = dev.k;
  if (!k.kasan.check(imr, "mlx5_ib_update_xlt(INDIRECT) uses the parent mr")) return EFAULT;
  const ksm = imr.mmkey.ksm;
  if (ksm === null) throw new Error("update_xlt(INDIRECT) on a non-KSM mkey");
  const first = Math.min(...slots.keys());
  yield* dev.umrSem.lock();
  k.event("umr_post", { mkey: imr.mmkey.key, first, count: slots.size, ksm: true });
  yield* k.sleep(dev.cost.umrNs + dev.cost.umrPerEntryNs * slots.size);
  const before = [...slots.keys()].map((slot) => ksm.get(slot));
  for (const [slot, child] of slots) {
    if (child === null) ksm.delete(slot);
    else ksm.set(slot, child);
  }
  mirrorKsmWrite(imr, before, slots.values());
  k.event("umr_done", { mkey: imr.mmkey.key, first, count: slots.size, ksm: true });
  if (k.trace !== null) {
    const fields: Record<string, string | number> = { mkey: imr.mmkey.key };
    for (const [slot, child] of slots) {
      fields[`KSM[${slot}]`] = child === null ? "null mkey" : `mkey ${child.key}`;
    }
    const writes = [...slots.keys()].map((slot) => mkeyId(imr.mmkey.key, slot));
    k.event("mlx5_ib_update_xlt", { ...fields, ...accessFields([], writes) });
  }
  dev.umrSem.unlock();
  return 0;
}

/**
 * MLX5_IB_UPD_XLT_ENABLE over a fresh, empty MTT (an implicit child's creation): one
 * UMR that enables the mkey; every entry is already empty, so none is written here.
 */
export function* mlx5IbUmrEnable(mr: Mlx5IbMr): KGen<number> {
  const dev = mr.dev;
  yield* dev.umrSem.lock();
  yield* dev.k.sleep(dev.cost.umrNs);
  dev.umrSem.unlock();
  return 0;
}

/** mlx5r_umr_revoke_mr(): a UMR that disables the mkey; the device stops using it. */
export function* mlx5rUmrRevokeMr(mr: Mlx5IbMr): KGen<number> {
  const dev = mr.dev;
  yield* dev.umrSem.lock();
  yield* dev.k.sleep(dev.cost.umrNs);
  mlx5MkeyDisable(mr);
  dev.k.event("umr_revoke", { mkey: mr.mmkey.key });
  dev.k.event("mlx5r_umr_revoke_mr", {
    mkey: mr.mmkey.key,
    ...accessFields([], [mkeyId(mr.mmkey.key)]),
  });
  dev.umrSem.unlock();
  return 0;
}
