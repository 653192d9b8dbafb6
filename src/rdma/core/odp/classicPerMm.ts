/**
 * The classic design's per-mm notifier: one mmu_notifier per (ucontext, mm) pair, with
 * an interval tree of the umems it serves under umem_rwsem.
 *
 * Models struct ib_ucontext_per_mm with its mmu_notifier, get_per_mm and
 * ib_umem_notifier_{invalidate_range_start,invalidate_range_end,release_trampoline} of
 * drivers/infiniband/core/umem_odp.c, v5.3; what the hmm-mirror design's per_mm shares
 * with it is in perMm.ts.
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
import { EAGAIN, errnoName } from "../../../sim/errno.ts";
import { lockId } from "../../../sim/lockdep.ts";
import { accessFields } from "../../../sim/objectAccess.ts";
import type { KObject } from "../../../sim/kasan.ts";
import type { KGen } from "../../../sim/task.ts";
import {
  MmuNotifier,
  mmuNotifierCallSrcu,
  mmuNotifierRegister,
  mmuNotifierUnregisterNoRelease,
} from "../../../mm/notifier/mmuNotifier.ts";
import type { MmuNotifierRange } from "../../../mm/notifier/subscriptions.ts";
import { ibUmemEnd, ibUmemStart, umemDyingId } from "../umemOdp.ts";
import {
  ibUmemNotifierEndAccount,
  ibUmemNotifierStartAccount,
  type ClassicUmemOdp,
} from "./classicUmemOdp.ts";
import {
  UcontextPerMm,
  forEachUmemInRange,
  getPerMm as getPerMmWith,
  ibUmemNotifierRelease,
} from "./perMm.ts";

/** The classic per_mm: its notifier is an mmu_notifier. */
export class IbUcontextPerMm extends UcontextPerMm<ClassicUmemOdp> {
  readonly mn = new MmuNotifier(
    {
      name: "ib_umem_notifiers",
      release: () => ibUmemNotifierRelease(this, releaseTrampoline),
      invalidateRangeStart: (_sub, range) => ibUmemNotifierInvalidateRangeStart(this, range),
      invalidateRangeEnd: (_sub, range) => ibUmemNotifierInvalidateRangeEnd(this, range),
    },
    this,
  );

  register(): KGen<number> {
    return mmuNotifierRegister(this.mn, this.mm);
  }

  /** mmu_notifier_unregister_no_release(), then free after an SRCU grace period. */
  *unregisterAndFree(): KGen {
    yield* mmuNotifierUnregisterNoRelease(this.mn, this.mm);
    const k = this.context.k;
    mmuNotifierCallSrcu(k, () => {
      k.kasan.free(this);
      return undefined;
    });
  }
}

function isClassicPerMm(p: KObject): p is IbUcontextPerMm {
  return p instanceof IbUcontextPerMm;
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
  const k = perMm.context.k;
  if (ret !== 0 && !k.hasDefect("classic-missed-unlock")) perMm.umemRwsem.upRead();
  if (ret !== 0 && k.trace !== null) {
    const held = perMm.umemRwsem.readers.has(k.currentTask());
    k.event("ib_umem_notifier_invalidate_range_start", {
      ret: errnoName(ret),
      [`${perMm.umemRwsem.name} held`]: held,
      ...accessFields([lockId(perMm.umemRwsem)]),
    });
  }
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

/** Catalog defect: the release trampoline marks every umem dying (before v5.3-rc5). */
export const RELEASE_MARKS_DYING = "implicit-release-leaks-children";

/**
 * ib_umem_notifier_release_trampoline(): a start without an end, so notifiers_count
 * stays raised and every later fault sees a racing invalidation (and fails on the dead
 * mm). Until "IB/mlx5: Fix implicit MR release flow" (v5.3-rc5) it also set `dying`
 * (catalog defect implicit-release-leaks-children): an implicit child it empties then
 * gets no freeing work queued, and deregistration's mr_leaf_free skips it as dying.
 */
function* releaseTrampoline(umem: ClassicUmemOdp): KGen {
  yield* ibUmemNotifierStartAccount(umem);
  if (umem.context.k.hasDefect(RELEASE_MARKS_DYING)) {
    umem.dying = true;
    umem.context.k.event("ib_umem_notifier_release_trampoline", {
      "umem->dying": 1,
      ...accessFields([], [umemDyingId(umem)]),
    });
    yield "odp dying";
  }
  umem.notifierCompletion.completeAll();
  const hook = umem.context.invalidateRange;
  if (hook !== null) yield* hook(umem, ibUmemStart(umem), ibUmemEnd(umem));
}

/** get_per_mm(): find or create (and register) the per_mm of the umem's mm. */
export function getPerMm(umem: ClassicUmemOdp): KGen<number> {
  return getPerMmWith(umem, isClassicPerMm, () => new IbUcontextPerMm(umem.context, umem.owningMm));
}

/**
 * What remove_umem_from_per_mm() does besides leaving the tree: let a page fault waiting
 * on the now-dead umem go on (and fail).
 */
export function completeRemovedUmem(umem: ClassicUmemOdp): void {
  umem.notifierCompletion.completeAll();
}
