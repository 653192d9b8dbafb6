/**
 * Implicit ODP MRs whose children live in the per_mm interval tree: the scheme mlx5 had
 * from v4.11 to v5.3, shared by the classic design and the hmm-mirror posting (seed 002
 * left it alone on top of its hmm_mirror per_mm). A KSM parent covers the whole address
 * space; each child umem covers one KSM slot, sits in the per_mm tree next to every
 * other umem of the process and is found by walking that tree.
 *
 * Models the implicit parts of drivers/infiniband/hw/mlx5/odp.c of that era:
 * check_parent, odp_lookup, odp_next, mlx5_odp_populate_klm, implicit_mr_alloc,
 * implicit_mr_get_data, mlx5_ib_alloc_implicit_mr, mr_leaf_free_action, mr_leaf_free and
 * mlx5_ib_free_implicit_mr. There is no children table in this era:
 *
 *   fault (kworker, under mr_srcu)           invalidation leaves a child empty
 *   lock parent umem_mutex                   dying = 1; num_leaf_free++; schedule_work
 *   odp_lookup / odp_next (umem_rwsem read,  mr_leaf_free_action (system_wq):
 *     child of this parent and not dying)      mr->parent = NULL (hides it from lookups)
 *   none: alloc_child (joins the tree),        synchronize_srcu(mr_srcu)
 *     implicit_mr_alloc (MTT mkey, live)       ib_umem_odp_release (leaves the tree)
 *   KSM update of the new slots                if parent live: KSM slot from the tree
 *   unlock; fault each child in turn           free the MTT mkey; num_leaf_free--
 *
 * Deregistration (after live = 0 and synchronize_srcu): mr_leaf_free over the whole
 * tree unmaps every child and queues the ones not yet dying, then waits for
 * num_leaf_free to reach zero; the caller releases the root umem and destroys the KSM.
 *
 * What differs between the designs (the umem type, how the IB core creates, unmaps and
 * releases umems, who takes umem_mutex around the unmap) comes in a PerMmImplicitCore;
 * the driver code is the same.
 */
import { EFAULT } from "../../../sim/errno.ts";
import { accessFields, countFields, objectId } from "../../../sim/objectAccess.ts";
import type { Kernel } from "../../../sim/kernel.ts";
import { WaitQueueHead } from "../../../sim/sync/waitQueue.ts";
import { systemWorkqueue, WorkStruct } from "../../../sim/sync/workqueue.ts";
import type { KGen } from "../../../sim/task.ts";
import { KernelBug } from "../../../sim/violation.ts";
import type { IbPd } from "../../core/ibPd.ts";
import { forEachUmemInRange, type PerMmUmem, type UcontextPerMm } from "../../core/odp/perMm.ts";
import type { UmemOdpDesign } from "../../core/odp/umemOdpDesign.ts";
import { ibUmemEnd, ibUmemStart, umemDyingId } from "../../core/umemOdp.ts";
import type { Mlx5Mkey } from "../mkey.ts";
import type { Mlx5IbDev } from "../mlx5IbDev.ts";
import { Mlx5IbMr } from "../mlx5IbMr.ts";
import { mirrorUnmappedUnzapped } from "../mttMirror.ts";
import { mlx5IbUmrEnable, mlx5IbUpdateKsmSlots } from "../umr.ts";
import {
  implicitChildSlot,
  mlx5ImrKsmEntries,
  mlx5ImrMttSize,
  newImplicitChildMkey,
  newImplicitKsmMkey,
} from "./implicitMr.ts";
import { mrOfUmem } from "./mlx5OdpDesign.ts";
import { destroyMkey } from "./srcuEraMr.ts";

const ULLONG_MAX = Number.MAX_SAFE_INTEGER;

/** Catalog defect: mr_leaf_free_action's KSM update as v5.3 ran it (mrLeafFreeAction). */
export const IMPLICIT_KSM_UPDATE_UNLOCKED = "implicit-ksm-update-unlocked";

/** A umem of a per_mm design that can be an implicit child. */
export interface PerMmImplicitUmem<U extends PerMmImplicitUmem<U>> extends PerMmUmem<U> {
  /** umem_odp->work: the driver's deferred free of an implicit child (mr_leaf_free_action). */
  work: WorkStruct | null;
}

/** The IB core of a per_mm design, as the implicit MR code uses it. */
export interface PerMmImplicitCore<U extends PerMmImplicitUmem<U>> {
  readonly design: UmemOdpDesign<U>;
  /** Whether ib_umem_odp_unmap_dma_pages() takes umem_mutex itself in this run. */
  unmapTakesMutex(umem: U): boolean;
  /** ib_umem_odp_unmap_dma_pages(): its caller holds umem_mutex unless unmapTakesMutex. */
  unmapDmaPages(umem: U, virt: number, bound: number): KGen;
  /**
   * Whether mr_leaf_free_action releases the child and then updates its KSM slot with
   * no lock, as v5.3 and the posting's v5.2 base did (mrLeafFreeAction).
   */
  ksmUpdateUnlocked(k: Kernel): boolean;
}

/** The root umem of an implicit parent. */
function rootOf<U extends PerMmImplicitUmem<U>>(core: PerMmImplicitCore<U>, imr: Mlx5IbMr<U>): U {
  const root = imr.umem;
  if (root === null) throw new Error(`${core.design.name} implicit MR without its root`);
  return root;
}

/**
 * umem_odp->per_mm, as the fault and zap paths read it. put_per_mm() clears it before the
 * umem is freed, so a path that outruns a release (no synchronize_srcu in dereg) reads
 * NULL here and oopses on the first field it takes, as the kernel would.
 */
function perMmOf<U extends PerMmImplicitUmem<U>>(odp: U): UcontextPerMm<U> {
  const perMm = odp.perMm;
  if (perMm === null) {
    throw new KernelBug(
      "null_pointer_dereference",
      "umem_odp->per_mm is NULL: the umem was released under this path",
    );
  }
  return perMm;
}

/** check_parent(): `odp` is a child of `parent` whose MR is set up and that is not dying. */
function checkParent<U extends PerMmImplicitUmem<U>>(odp: U, parent: Mlx5IbMr<U> | null): boolean {
  const mr = mrOfUmem(odp);
  return mr !== null && mr.parent === parent && !odp.dying;
}

/**
 * odp_lookup(): the first umem overlapping [start, start + length) in tree order, then
 * its successors up to start + length, that is a live child of `imr`.
 */
function* odpLookup<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  start: number,
  length: number,
  imr: Mlx5IbMr<U>,
): KGen<U | null> {
  const perMm = perMmOf(rootOf(core, imr));
  const tree = perMm.umemTree;
  yield* perMm.umemRwsem.downRead();
  let node = tree.iterFirst(start, start + length - 1);
  while (node !== null && !checkParent(node.value, imr)) {
    node = tree.iterNext(node, 0, ULLONG_MAX);
    if (node !== null && ibUmemStart(node.value) > start + length) node = null;
  }
  perMm.umemRwsem.upRead();
  return node?.value ?? null;
}

/**
 * odp_next(): the next umem after `odp` in tree order that is a live child of odp's
 * parent, read from odp's MR now (so a child whose parent was cleared matches other
 * umems without a parent, as in v5.3).
 */
export function* implicitOdpNext<U extends PerMmImplicitUmem<U>>(odp: U): KGen<U | null> {
  const parent = mrOfUmem(odp)?.parent ?? null;
  const perMm = perMmOf(odp);
  const tree = perMm.umemTree;
  yield* perMm.umemRwsem.downRead();
  // odpsim guard: a child released under the caller has no node to walk on from.
  let node = odp.treeNode;
  do {
    node = node === null ? null : tree.iterNext(node, 0, ULLONG_MAX);
  } while (node !== null && !checkParent(node.value, parent));
  perMm.umemRwsem.upRead();
  return node?.value ?? null;
}

/**
 * mlx5_odp_populate_klm(): the KSM entries of slots [idx, idx + n): a slot points at the
 * MTT mkey of the live child starting there, or at the null mkey.
 */
function* populateKlm<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  imr: Mlx5IbMr<U>,
  idx: number,
  n: number,
): KGen<Map<number, Mlx5Mkey | null>> {
  // The lockdep_assert_held() of "RDMA/mlx5: Fix a race with mlx5_ib_update_xlt on an
  // implicit MR": the tree may not change under this walk.
  if (!core.ksmUpdateUnlocked(imr.dev.k)) rootOf(core, imr).umemMutex.assertHeld();
  const size = mlx5ImrMttSize(imr.dev);
  const slots = new Map<number, Mlx5Mkey | null>();
  let odp = yield* odpLookup(core, idx * size, n * size, imr);
  for (let i = idx; i < idx + n; i++) {
    const mtt = odp === null ? null : mrOfUmem(odp);
    if (odp !== null && odp.address === i * size && mtt !== null) {
      slots.set(i, mtt.mmkey);
      odp = yield* implicitOdpNext(odp);
    } else {
      slots.set(i, null);
    }
  }
  return slots;
}

/** mlx5_ib_update_xlt(imr, idx, n, INDIRECT): rewrite KSM slots from the tree. */
function* updateKsmFromTree<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  imr: Mlx5IbMr<U>,
  idx: number,
  n: number,
): KGen<number> {
  const slots = yield* populateKlm(core, imr, idx, n);
  return yield* mlx5IbUpdateKsmSlots(imr, slots);
}

/**
 * implicit_mr_alloc(): an mkey enabled by UMR with every entry empty (a KSM over the
 * address space for a parent, an MTT over its slot for a child), then live.
 */
function* implicitMrAlloc<U extends PerMmImplicitUmem<U>>(
  pd: IbPd,
  dev: Mlx5IbDev,
  umem: U,
  access: number,
  parent: Mlx5IbMr<U> | null,
): KGen<Mlx5IbMr<U>> {
  const mkey =
    parent === null
      ? newImplicitKsmMkey(dev, pd.pdn)
      : newImplicitChildMkey(dev, pd.pdn, umem.address / mlx5ImrMttSize(dev));
  const mr = new Mlx5IbMr(dev.k, {
    dev,
    pd,
    mkey,
    access,
    umem,
    ...(parent === null ? {} : { parent }),
  });
  yield* mlx5IbUmrEnable(mr);
  dev.mkeys.set(mkey.key, mkey);
  dev.mrs.set(mkey.key, mr);
  mr.live = true;
  return mr;
}

/** A new child umem at `addr` with its MTT MR, published to lookups last. */
function* newChild<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  imr: Mlx5IbMr<U>,
  addr: number,
): KGen<U | number> {
  const dev = imr.dev;
  const odp = yield* core.design.allocChild(rootOf(core, imr), addr, mlx5ImrMttSize(dev), {});
  if (typeof odp === "number") return odp;
  const mtt = yield* implicitMrAlloc(imr.pd, dev, odp, imr.access, imr);
  // Until umem->private is set the child is in the tree but no lookup or invalidation
  // sees an MR behind it.
  odp.driverPrivate = mtt;
  odp.work = new WorkStruct("mr_leaf_free_action", () => mrLeafFreeAction(core, odp));
  dev.k.event("implicit_child_created", {
    child: mtt.objName,
    slot: implicitChildSlot(mtt),
    key: mtt.mmkey.key,
  });
  return odp;
}

/**
 * implicit_mr_get_data(): under the parent's umem_mutex, find or create the child of
 * every slot [ioVirt, ioVirt + bcnt) touches, then point the KSM slots from the first
 * new child on at them. Returns the child holding ioVirt, or an errno.
 */
export function* implicitMrGetData<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  imr: Mlx5IbMr<U>,
  ioVirt: number,
  bcnt: number,
): KGen<U | number> {
  const size = mlx5ImrMttSize(imr.dev);
  // odpsim guard: the device never faults outside the KSM, but a prefetch may ask.
  if (ioVirt + bcnt > mlx5ImrKsmEntries(imr.dev) * size) return EFAULT;
  const odpMr = rootOf(core, imr);
  let addr = Math.floor(ioVirt / size) * size;
  let nentries = 0;
  let startIdx = 0;
  let result: U | null = null;
  yield* odpMr.umemMutex.lock();
  let odp = yield* odpLookup(core, addr, 1, imr);
  for (;;) {
    if (odp !== null) {
      if (nentries !== 0) nentries++;
    } else {
      const made = yield* newChild(core, imr, addr);
      if (typeof made === "number") {
        odpMr.umemMutex.unlock();
        return made;
      }
      odp = made;
      if (nentries === 0) startIdx = addr / size;
      nentries++;
    }
    result ??= odp;
    addr += size;
    if (addr >= ioVirt + bcnt) break;
    odp = yield* implicitOdpNext(odp);
    if (odp !== null && odp.address !== addr) odp = null;
  }
  const ret = nentries === 0 ? 0 : yield* updateKsmFromTree(core, imr, startIdx, nentries);
  odpMr.umemMutex.unlock();
  return ret < 0 ? ret : result;
}

/** mlx5_ib_alloc_implicit_mr(): the root umem and its KSM parent. */
export function* mlx5IbAllocImplicitMr<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  dev: Mlx5IbDev,
  pd: IbPd,
  access: number,
): KGen<Mlx5IbMr<U> | number> {
  const root = yield* core.design.allocImplicit(pd.uctx, access, {});
  if (typeof root === "number") return root;
  const imr = yield* implicitMrAlloc(pd, dev, root, access, null);
  imr.numLeafFree = 0;
  return imr;
}

function qLeafFree(imr: Mlx5IbMr): WaitQueueHead {
  imr.qLeafFree ??= new WaitQueueHead(imr.dev.k, `q_leaf_free(${imr.objName})`);
  return imr.qLeafFree;
}

/** The trace's id of imr->num_leaf_free. */
function numLeafFreeId(imr: Mlx5IbMr): string {
  return `${objectId(imr.objName)}.num_leaf_free`;
}

/** The test an emptied child passes before its freeing is queued, for the trace. */
function traceDyingTest(odp: { objName: string; dying: boolean; npages: number }, imr: Mlx5IbMr) {
  imr.dev.k.event("mlx5_ib_invalidate_range", {
    "odp->npages": odp.npages,
    "odp->dying": odp.dying ? 1 : 0,
    ...accessFields([umemDyingId(odp)]),
  });
}

/** Marks a child dying and queues its mr_leaf_free_action, counted on the parent. */
function queueLeafFree<U extends PerMmImplicitUmem<U>>(odp: U, imr: Mlx5IbMr<U>): void {
  odp.dying = true;
  imr.numLeafFree++;
  if (odp.work === null) throw new Error("implicit child without its free work");
  imr.dev.k.event("implicit_child_reap_queued", { child: odp.objName });
  imr.dev.k.event("schedule_work", {
    work: `mr_leaf_free_action(${odp.objName})`,
    "imr->num_leaf_free": imr.numLeafFree,
    // Queueing its freeing is a write of the child's life (the whole umem).
    ...accessFields([], [umemDyingId(odp), objectId(odp.objName)]),
    ...countFields(numLeafFreeId(imr), 1),
  });
  systemWorkqueue(imr.dev.k, "events").queueWork(odp.work);
}

/**
 * The tail of mlx5_ib_invalidate_range() for a child, under umem_mutex: once an
 * invalidation leaves it without pages, it dies (unless it already does) and is freed
 * by work.
 */
export function mlx5ImplicitChildEmptied<U extends PerMmImplicitUmem<U>>(
  odp: U,
  mr: Mlx5IbMr<U>,
): void {
  odp.umemMutex.assertHeld();
  const imr = mr.parent;
  if (imr !== null && odp.npages === 0) traceDyingTest(odp, imr);
  if (odp.npages === 0 && imr !== null && !odp.dying) queueLeafFree(odp, imr);
}

/**
 * The same tail as v5.2/v5.3 ran it, after the mutex was dropped: the test and the
 * WRITE_ONCE of dying are apart, so two invalidations can both pass it.
 */
export function* mlx5ImplicitChildEmptiedUnlocked<U extends PerMmImplicitUmem<U>>(
  odp: U,
  mr: Mlx5IbMr<U>,
): KGen {
  const imr = mr.parent;
  if (imr !== null && odp.npages === 0) traceDyingTest(odp, imr);
  if (odp.npages !== 0 || imr === null || odp.dying) return;
  yield "if (!npages && mr->parent && !dying)";
  queueLeafFree(odp, imr);
}

/**
 * mr_leaf_free_action(): hide the child from fault handlers and wait for those that
 * found it, point its KSM slot at whatever the tree holds now (if the parent still
 * lives), release its umem, free the MTT MR, and tell a waiting deregistration.
 *
 * The KSM update runs under mr_srcu and the parent's umem_mutex, the lock the fault
 * path holds from its tree lookup through its own KSM update, so the two UMRs of one
 * slot are ordered with the tree contents they were built from ("RDMA/mlx5: Fix a race
 * with mlx5_ib_update_xlt on an implicit MR", v5.4-rc2). v5.3 released the child first
 * and updated the slot with neither (classic catalog defect
 * implicit-ksm-update-unlocked; the hmm-mirror posting, on v5.2, as posted):
 *
 *   mr_leaf_free_action                    page fault on the same slot
 *   populate_klm: no live child -> ZAP
 *                                          implicit_mr_get_data: new child, in the tree
 *                                          populate_klm: the new child -> VALID
 *                                          UMR: slot = VALID
 *   UMR: slot = ZAP
 *                  the slot is empty while its child lives: every access faults again
 */
function* mrLeafFreeAction<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  odp: U,
): KGen {
  const k = odp.context.k;
  if (!k.kasan.check(odp, "mr_leaf_free_action uses the child umem")) return;
  const mr = mrOfUmem(odp);
  if (mr === null || !k.kasan.check(mr, "mr_leaf_free_action uses the child mr")) return;
  const imr = mr.parent;
  if (imr === null) throw new Error("mr_leaf_free_action on a child without a parent");
  const idx = implicitChildSlot(mr);
  mr.parent = null;
  yield "mr->parent = NULL";
  yield* mr.dev.mrSrcu.synchronize();
  const unlocked = core.ksmUpdateUnlocked(k);
  if (unlocked) yield* core.design.release(odp);
  if (!k.kasan.check(imr, "mr_leaf_free_action reads imr->live")) return;
  if (imr.live) {
    if (unlocked) yield* updateKsmFromTree(core, imr, idx, 1);
    else yield* updateKsmLocked(core, imr, idx);
  }
  if (!unlocked) yield* core.design.release(odp);
  destroyMkey(mr);
  k.kasan.free(mr);
  --imr.numLeafFree;
  k.event("mr_leaf_free_action", {
    "imr->num_leaf_free": imr.numLeafFree,
    ...countFields(numLeafFreeId(imr), -1),
  });
  if (imr.numLeafFree === 0) qLeafFree(imr).wakeUp();
}

/** The fixed KSM update of one slot: under mr_srcu and the parent's umem_mutex. */
function* updateKsmLocked<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  imr: Mlx5IbMr<U>,
  idx: number,
): KGen {
  const srcu = imr.dev.mrSrcu;
  const key = srcu.readLock();
  const root = rootOf(core, imr);
  yield* root.umemMutex.lock();
  yield* updateKsmFromTree(core, imr, idx, 1);
  root.umemMutex.unlock();
  srcu.readUnlock(key);
}

/**
 * mr_leaf_free(): unmap a child of `imr` and queue its freeing unless already dying.
 *
 * It unmaps the pages and zaps no MTT entry, and the parent's KSM still leads to the
 * child until the freeing work rewrites its slot: a page the child mapped is neither
 * pinned nor translated away, so an munmap racing the deregistration frees it under the
 * device (finding *-implicit-dereg-keeps-child-mtt). v5.5's rework fences the parent
 * mkey before it destroys the children.
 */
function* mrLeafFree<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  umem: U,
  imr: Mlx5IbMr<U>,
): KGen {
  const mr = mrOfUmem(umem);
  if (mr === null || mr.parent !== imr) return;
  if (core.unmapTakesMutex(umem)) {
    // As v5.2/v5.3 had it: dying is read and written outside umem_mutex.
    yield* unmapLeaf(core, umem, mr);
    if (!umem.dying) queueLeafFree(umem, imr);
    return;
  }
  yield* umem.umemMutex.lock();
  yield* unmapLeaf(core, umem, mr);
  if (!umem.dying) queueLeafFree(umem, imr);
  umem.umemMutex.unlock();
}

/** mr_leaf_free's unmap of a whole child, its MTT left to the device. */
function* unmapLeaf<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  umem: U,
  mr: Mlx5IbMr<U>,
): KGen {
  yield* core.unmapDmaPages(umem, ibUmemStart(umem), ibUmemEnd(umem));
  mirrorUnmappedUnzapped(mr, "mr_leaf_free unmapped it and zapped no MTT entry");
}

/**
 * mlx5_ib_free_implicit_mr(): queue the freeing of every child of `imr` and wait until
 * all of them (and those invalidations queued earlier) are gone.
 */
export function* mlx5IbFreeImplicitMr<U extends PerMmImplicitUmem<U>>(
  core: PerMmImplicitCore<U>,
  imr: Mlx5IbMr<U>,
): KGen {
  const perMm = perMmOf(rootOf(core, imr));
  yield* perMm.umemRwsem.downRead();
  yield* forEachUmemInRange(perMm, 0, ULLONG_MAX, true, (umem) => mrLeafFree(core, umem, imr));
  perMm.umemRwsem.upRead();
  imr.dev.k.event("mlx5_ib_free_implicit_mr", {
    "imr->num_leaf_free": imr.numLeafFree,
    ...accessFields([numLeafFreeId(imr)]),
  });
  yield* qLeafFree(imr).waitEvent(() => imr.numLeafFree === 0);
}
