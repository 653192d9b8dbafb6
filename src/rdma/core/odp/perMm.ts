/**
 * The per-mm notifier state shared by the two designs that keep one (classic and
 * hmm-mirror): struct ib_ucontext_per_mm with its interval tree of umems under
 * umem_rwsem, get_per_mm / put_per_mm, an implicit child's share of its root's per_mm,
 * add_umem_to_per_mm / remove_umem_from_per_mm, ib_umem_notifier_release and
 * rbt_ib_umem_for_each_in_range() of drivers/infiniband/core/umem_odp.c (v5.2/v5.3).
 *
 * What differs between the designs is how a per_mm gets onto the mm and off it (an
 * mmu_notifier, or an hmm_mirror): each design's subclass implements `register` and
 * `unregisterAndFree`.
 */
import { EAGAIN } from "../../../sim/errno.ts";
import { KObject } from "../../../sim/kasan.ts";
import { RwSemaphore } from "../../../sim/sync/rwsem.ts";
import type { KGen } from "../../../sim/task.ts";
import { IntervalTree, type IntervalTreeNode } from "../../../mm/intervalTree.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { ibUmemEnd, ibUmemStart, type IbUmemOdp } from "../umemOdp.ts";
import type { IbUcontext } from "../ucontext.ts";

/** A umem that lives in a per_mm tree. */
export interface PerMmUmem<U extends PerMmUmem<U>> extends IbUmemOdp {
  treeNode: IntervalTreeNode<U> | null;
  perMm: UcontextPerMm<U> | null;
}

/** struct ib_ucontext_per_mm, less the design's notifier. */
export abstract class UcontextPerMm<U extends PerMmUmem<U>> extends KObject {
  readonly umemTree = new IntervalTree<U>();
  readonly umemRwsem: RwSemaphore;
  /** False once the per_mm is being freed. */
  active = true;
  odpMrsCount = 0;

  constructor(
    readonly context: IbUcontext,
    readonly mm: MmStruct,
  ) {
    super(context.k.kasan, "ib_ucontext_per_mm");
    this.umemRwsem = new RwSemaphore(context.k, `umem_rwsem(${this.objName})`, "umem_rwsem");
  }

  /** Puts the per_mm's notifier on the mm (alloc_per_mm): 0 or a negative errno. */
  abstract register(): KGen<number>;
  /** Takes it off and frees the per_mm once no callback can be running in it. */
  abstract unregisterAndFree(): KGen;
}

/**
 * ib_umem_notifier_release(): the mm is exiting; `trampoline` kills each umem of the
 * per_mm (the design's ib_umem_notifier_release_trampoline).
 */
export function* ibUmemNotifierRelease<U extends PerMmUmem<U>>(
  perMm: UcontextPerMm<U>,
  trampoline: (umem: U) => KGen,
): KGen {
  yield* perMm.umemRwsem.downRead();
  if (perMm.active) {
    yield* forEachUmemInRange(perMm, 0, Number.MAX_SAFE_INTEGER, true, trampoline);
  }
  perMm.umemRwsem.upRead();
}

/**
 * rbt_ib_umem_for_each_in_range(): `cb` on each umem overlapping [start, end). A
 * non-blockable walk refuses (-EAGAIN) as soon as it finds one.
 */
export function* forEachUmemInRange<U extends PerMmUmem<U>>(
  perMm: UcontextPerMm<U>,
  start: number,
  end: number,
  blockable: boolean,
  cb: (umem: U) => KGen,
): KGen<number> {
  if (start === end) return 0;
  const hits: U[] = [];
  perMm.umemTree.forEachOverlap(start, end - 1, (node) => hits.push(node.value));
  for (const umem of hits) {
    if (!blockable) return EAGAIN;
    yield* cb(umem);
  }
  return 0;
}

/** get_per_mm(): the per_mm of the umem's mm in its ucontext, made by `create` if none. */
export function* getPerMm<U extends PerMmUmem<U>, P extends UcontextPerMm<U>>(
  umem: U,
  isMine: (p: KObject) => p is P,
  create: () => P,
): KGen<number> {
  const ctx = umem.context;
  yield* ctx.perMmListLock.lock();
  let perMm = ctx.perMmList.find((p): p is P => isMine(p) && p.mm === umem.owningMm) ?? null;
  if (perMm === null) {
    perMm = create();
    const ret = yield* perMm.register();
    if (ret !== 0) {
      ctx.k.kasan.free(perMm);
      ctx.perMmListLock.unlock();
      return ret;
    }
    ctx.perMmList.push(perMm);
  }
  umem.perMm = perMm;
  perMm.odpMrsCount++;
  ctx.perMmListLock.unlock();
  return 0;
}

/**
 * The per_mm share of an implicit child (ib_alloc_odp_umem, v5.2/v5.3): the child counts
 * as one more umem of its root's per_mm, so no notifier is registered for it. The caller
 * keeps the root, and so the per_mm, alive meanwhile.
 */
export function* sharePerMm<U extends PerMmUmem<U>>(child: U, perMm: UcontextPerMm<U>): KGen {
  const ctx = child.context;
  yield* ctx.perMmListLock.lock();
  perMm.odpMrsCount++;
  child.perMm = perMm;
  ctx.perMmListLock.unlock();
}

/** put_per_mm(): the last umem of a per_mm deactivates, unregisters and frees it. */
export function* putPerMm<U extends PerMmUmem<U>>(umem: U): KGen {
  const perMm = umem.perMm;
  if (perMm === null) throw new Error("put_per_mm without a per_mm");
  const ctx = umem.context;
  yield* ctx.perMmListLock.lock();
  umem.perMm = null;
  perMm.odpMrsCount--;
  const needFree = perMm.odpMrsCount === 0;
  if (needFree) ctx.perMmList.splice(ctx.perMmList.indexOf(perMm), 1);
  ctx.perMmListLock.unlock();
  if (!needFree) return;
  yield* perMm.umemRwsem.downWrite();
  perMm.active = false;
  perMm.umemRwsem.upWrite();
  ctx.k.warnOn(!perMm.umemTree.isEmpty(), "put_per_mm: umem_tree not empty");
  yield* perMm.unregisterAndFree();
}

/** add_umem_to_per_mm(): an implicit root has no range and stays out of the tree. */
export function* addUmemToPerMm<U extends PerMmUmem<U>>(umem: U): KGen {
  const perMm = umem.perMm;
  if (perMm === null) throw new Error("add_umem_to_per_mm without a per_mm");
  yield* perMm.umemRwsem.downWrite();
  if (!umem.isImplicitOdp) {
    umem.treeNode = perMm.umemTree.insert(ibUmemStart(umem), ibUmemEnd(umem) - 1, umem);
  }
  perMm.umemRwsem.upWrite();
}

/** remove_umem_from_per_mm(); `whileLocked` runs before umem_rwsem is released. */
export function* removeUmemFromPerMm<U extends PerMmUmem<U>>(
  umem: U,
  whileLocked?: () => void,
): KGen {
  const perMm = umem.perMm;
  if (perMm === null) throw new Error("remove_umem_from_per_mm without a per_mm");
  yield* perMm.umemRwsem.downWrite();
  if (umem.treeNode !== null) {
    perMm.umemTree.remove(umem.treeNode);
    umem.treeNode = null;
  }
  whileLocked?.();
  perMm.umemRwsem.upWrite();
}
