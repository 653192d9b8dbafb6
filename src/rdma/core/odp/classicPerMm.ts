/**
 * The classic design's per-mm notifier: one mmu_notifier per (ucontext, mm) pair, with
 * an interval tree of the umems it serves under umem_rwsem.
 *
 * Models struct ib_ucontext_per_mm and get_per_mm / put_per_mm /
 * ib_umem_notifier_{release,invalidate_range_start,invalidate_range_end} of
 * drivers/infiniband/core/umem_odp.c, v5.3.
 *
 * umem_rwsem is held for read from invalidate_range_start to invalidate_range_end, so a
 * umem cannot leave the tree (down_write in release) while an invalidation covers it:
 *
 *     start:  down_read(umem_rwsem)          (trylock when !blockable: -EAGAIN)
 *             for each overlapping umem: start_account, ucontext->invalidate_range
 *     end:    for each overlapping umem: end_account
 *             up_read(umem_rwsem)
 *
 * A non-blockable start that fails after taking the lock must drop it itself, since no
 * end follows a failed start ("RDMA/odp: Fix missed unlock in non-blocking
 * invalidate_start"; catalog defect classic-missed-unlock keeps it held).
 */
import { EAGAIN } from "../../../sim/errno.ts";
import { KObject } from "../../../sim/kasan.ts";
import { RwSemaphore } from "../../../sim/sync/rwsem.ts";
import { Mutex } from "../../../sim/sync/mutex.ts";
import type { KGen } from "../../../sim/task.ts";
import { IntervalTree } from "../../../mm/intervalTree.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import {
  MmuNotifier,
  mmuNotifierCallSrcu,
  mmuNotifierRegister,
  mmuNotifierUnregisterNoRelease,
} from "../../../mm/notifier/mmuNotifier.ts";
import type { MmuNotifierRange } from "../../../mm/notifier/subscriptions.ts";
import { ibUmemEnd, ibUmemStart } from "../umemOdp.ts";
import { addUmemToPerMmTree, removeUmemFromPerMmTree } from "./perMmTree.ts";
import type { IbUcontext } from "../ucontext.ts";
import {
  ibUmemNotifierEndAccount,
  ibUmemNotifierStartAccount,
  type ClassicUmemOdp,
} from "./classicUmemOdp.ts";

const ULLONG_MAX = Number.MAX_SAFE_INTEGER;

export class IbUcontextPerMm extends KObject {
  readonly mn: MmuNotifier;
  readonly umemTree = new IntervalTree<ClassicUmemOdp>();
  readonly umemRwsem: RwSemaphore;
  /** False once the mm is released or the per_mm is being freed. */
  active = true;
  odpMrsCount = 0;

  constructor(
    readonly context: IbUcontext,
    readonly mm: MmStruct,
  ) {
    super(context.k.kasan, "ib_ucontext_per_mm");
    this.umemRwsem = new RwSemaphore(context.k, `umem_rwsem(${this.objName})`, "umem_rwsem");
    this.mn = new MmuNotifier(
      {
        name: "ib_umem_notifiers",
        release: () => ibUmemNotifierRelease(this),
        invalidateRangeStart: (_sub, range) => ibUmemNotifierInvalidateRangeStart(this, range),
        invalidateRangeEnd: (_sub, range) => ibUmemNotifierInvalidateRangeEnd(this, range),
      },
      this,
    );
  }
}

/** ucontext->per_mm_list and its per_mm_list_lock. */
function perMmListOf(ctx: IbUcontext): { lock: Mutex; list: KObject[] } {
  return { lock: ctx.perMmListLock, list: ctx.perMmList };
}

function isPerMmOf(mm: MmStruct) {
  return (p: KObject): p is IbUcontextPerMm => p instanceof IbUcontextPerMm && p.mm === mm;
}

/**
 * rbt_ib_umem_for_each_in_range(): calls `cb` on each umem overlapping [start, last).
 * A non-blockable walk refuses (-EAGAIN) as soon as it finds one.
 */
function* forEachUmemInRange(
  perMm: IbUcontextPerMm,
  start: number,
  last: number,
  blockable: boolean,
  cb: (umem: ClassicUmemOdp) => KGen,
): KGen<number> {
  if (start === last) return 0;
  const hits: ClassicUmemOdp[] = [];
  perMm.umemTree.forEachOverlap(start, last - 1, (node) => hits.push(node.value));
  for (const umem of hits) {
    if (!blockable) return EAGAIN;
    yield* cb(umem);
  }
  return 0;
}

/** ib_umem_notifier_invalidate_range_start(). */
function* ibUmemNotifierInvalidateRangeStart(
  perMm: IbUcontextPerMm,
  range: MmuNotifierRange,
): KGen<number> {
  if (range.blockable) yield* perMm.umemRwsem.downRead();
  else if (!perMm.umemRwsem.downReadTrylock()) return EAGAIN;
  if (!perMm.active) {
    // `active` only ever goes false, so end can skip its up_read without a lock.
    perMm.umemRwsem.upRead();
    return 0;
  }
  const ret = yield* forEachUmemInRange(perMm, range.start, range.end, range.blockable, (umem) =>
    invalidateRangeStartTrampoline(umem, range.start, range.end),
  );
  // The fix of "RDMA/odp: Fix missed unlock in non-blocking invalidate_start".
  if (ret !== 0 && !perMm.context.k.hasDefect("classic-missed-unlock")) perMm.umemRwsem.upRead();
  return ret;
}

function* invalidateRangeStartTrampoline(umem: ClassicUmemOdp, start: number, end: number): KGen {
  yield* ibUmemNotifierStartAccount(umem);
  const hook = umem.context.invalidateRange;
  if (hook !== null) yield* hook(umem, start, end);
}

/** ib_umem_notifier_invalidate_range_end(). */
function* ibUmemNotifierInvalidateRangeEnd(perMm: IbUcontextPerMm, range: MmuNotifierRange): KGen {
  if (!perMm.active) return;
  yield* forEachUmemInRange(perMm, range.start, range.end, true, ibUmemNotifierEndAccount);
  perMm.umemRwsem.upRead();
}

/** ib_umem_notifier_release(): the mm is exiting; every umem dies. */
function* ibUmemNotifierRelease(perMm: IbUcontextPerMm): KGen {
  yield* perMm.umemRwsem.downRead();
  if (perMm.active) {
    yield* forEachUmemInRange(perMm, 0, ULLONG_MAX, true, releaseTrampoline);
  }
  perMm.umemRwsem.upRead();
}

/**
 * ib_umem_notifier_release_trampoline(): a start without an end, so notifiers_count
 * stays raised and every later fault sees a racing invalidation and a dying umem.
 */
function* releaseTrampoline(umem: ClassicUmemOdp): KGen {
  yield* ibUmemNotifierStartAccount(umem);
  umem.dying = true;
  yield "odp dying";
  umem.notifierCompletion.completeAll();
  const hook = umem.context.invalidateRange;
  if (hook !== null) yield* hook(umem, ibUmemStart(umem), ibUmemEnd(umem));
}

/** get_per_mm(): find or create the per_mm of the umem's mm, count the umem in. */
export function* getPerMm(umem: ClassicUmemOdp): KGen<number> {
  const ctx = umem.context;
  const l = perMmListOf(ctx);
  yield* l.lock.lock();
  let perMm = l.list.find(isPerMmOf(umem.owningMm)) ?? null;
  if (perMm === null) {
    perMm = new IbUcontextPerMm(ctx, umem.owningMm);
    const ret = yield* mmuNotifierRegister(perMm.mn, perMm.mm);
    if (ret !== 0) {
      ctx.k.kasan.free(perMm);
      l.lock.unlock();
      return ret;
    }
    l.list.push(perMm);
  }
  umem.perMm = perMm;
  perMm.odpMrsCount++;
  l.lock.unlock();
  return 0;
}

/** put_per_mm(): the last umem of a per_mm unregisters and frees it after a grace period. */
export function* putPerMm(umem: ClassicUmemOdp): KGen {
  const perMm = umem.perMm;
  if (perMm === null) throw new Error("put_per_mm without a per_mm");
  const ctx = umem.context;
  const l = perMmListOf(ctx);
  yield* l.lock.lock();
  umem.perMm = null;
  perMm.odpMrsCount--;
  const needFree = perMm.odpMrsCount === 0;
  if (needFree) l.list.splice(l.list.indexOf(perMm), 1);
  l.lock.unlock();
  if (!needFree) return;
  yield* perMm.umemRwsem.downWrite();
  perMm.active = false;
  perMm.umemRwsem.upWrite();
  ctx.k.warnOn(!perMm.umemTree.isEmpty(), "put_per_mm: umem_tree not empty");
  yield* mmuNotifierUnregisterNoRelease(perMm.mn, perMm.mm);
  mmuNotifierCallSrcu(ctx.k, () => {
    ctx.k.kasan.free(perMm);
    return undefined;
  });
}

/** add_umem_to_per_mm(). */
export function* addUmemToPerMm(umem: ClassicUmemOdp): KGen {
  const perMm = umem.perMm;
  if (perMm === null) throw new Error("add_umem_to_per_mm without a per_mm");
  yield* addUmemToPerMmTree(perMm, umem);
}

/** remove_umem_from_per_mm(): no invalidation covers the umem once this returns. */
export function* removeUmemFromPerMm(umem: ClassicUmemOdp): KGen {
  const perMm = umem.perMm;
  if (perMm === null) throw new Error("remove_umem_from_per_mm without a per_mm");
  // Let a page fault waiting on a now-dead umem go on (and fail).
  yield* removeUmemFromPerMmTree(perMm, umem, () => {
    umem.notifierCompletion.completeAll();
  });
}
