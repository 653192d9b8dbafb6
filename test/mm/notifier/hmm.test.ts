import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuWrite } from "../../../src/mm/access.ts";
import { MADV_DONTNEED, MADV_HUGEPAGE, doMadvise } from "../../../src/mm/madvise.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";
import { mmapReadLock, mmapReadUnlock, type MmStruct } from "../../../src/mm/mmStruct.ts";
import {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnHas,
  hmmPfnToMapOrder,
  hmmPfnToPfn,
  hmmRangeFault,
  type HmmRange,
} from "../../../src/mm/notifier/hmm.ts";
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from "../../../src/mm/notifier/mmuIntervalNotifier.ts";
import { HPAGE_PMD_ORDER, PAGE_SIZE } from "../../../src/mm/page.ts";
import { EBUSY, EFAULT, EPERM } from "../../../src/sim/errno.ts";
import { Mutex } from "../../../src/sim/sync/mutex.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { g, invalidate, runOk, setup } from "./fixture.ts";

/** A mirror's notifier: set_seq under `lock`. */
function mirrorNotifier(lock: Mutex | null = null): MmuIntervalNotifier {
  return new MmuIntervalNotifier({
    name: "mirror",
    *invalidate(sub, range, seq) {
      if (lock !== null) {
        if (!range.blockable) {
          if (!lock.trylock()) return false;
        } else yield* lock.lock();
      }
      mmuIntervalSetSeq(sub, seq);
      lock?.unlock();
      return true;
    },
  });
}

function rangeOf(
  sub: MmuIntervalNotifier,
  start: number,
  npages: number,
  defaultFlags: number,
): HmmRange {
  return {
    notifier: sub,
    notifierSeq: 0,
    start,
    end: start + npages * PAGE_SIZE,
    hmmPfns: new Array<number>(npages).fill(0),
    defaultFlags,
    pfnFlagsMask: 0,
  };
}

/** read_begin + hmm_range_fault under mmap_read_lock, once. */
function* faultOnce(mm: MmStruct, range: HmmRange): KGen<number> {
  range.notifierSeq = yield* mmuIntervalReadBegin(range.notifier);
  yield* mmapReadLock(mm);
  const ret = yield* hmmRangeFault(range);
  mmapReadUnlock(mm);
  return ret;
}

function* mapAnon(mm: MmStruct, npages: number, prot = PROT_READ | PROT_WRITE): KGen<number> {
  const addr = yield* vmMmap(mm, 0, npages * PAGE_SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS);
  assert.ok(addr > 0);
  return addr;
}

test("hmm_range_fault: read fault gives VALID read-only (the zero page); write fault gives WRITE", () => {
  const { k, mm, phys } = setup({ seed: 1 });
  k.spawn("t", g, function* (): KGen {
    const addr = yield* mapAnon(mm, 2);
    const sub = mirrorNotifier();
    yield* mmuIntervalNotifierInsert(sub, mm, addr, 2 * PAGE_SIZE);
    const read = rangeOf(sub, addr, 2, HMM_PFN_REQ_FAULT);
    assert.equal(yield* faultOnce(mm, read), 0);
    for (const e of read.hmmPfns) {
      assert.ok(hmmPfnHas(e, HMM_PFN_VALID));
      assert.ok(!hmmPfnHas(e, HMM_PFN_WRITE));
      assert.ok(phys.isZeroPfn(hmmPfnToPfn(e)));
    }
    const write = rangeOf(sub, addr, 2, HMM_PFN_REQ_FAULT + HMM_PFN_REQ_WRITE);
    let ret = yield* faultOnce(mm, write);
    if (ret === EBUSY) ret = yield* faultOnce(mm, write); // replacing the zero page invalidated
    assert.equal(ret, 0);
    for (const e of write.hmmPfns) {
      assert.ok(hmmPfnHas(e, HMM_PFN_WRITE));
      assert.ok(!phys.isZeroPfn(hmmPfnToPfn(e)));
      assert.equal(mm.pgtable.getPte(addr)?.writable, true);
    }
  });
  const r = k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + (r.internalError?.message ?? ""));
});

test("hmm_range_fault: without a fault request it is a snapshot and faults nothing", () => {
  const { k, mm } = setup({ seed: 2 });
  k.spawn("t", g, function* (): KGen {
    const addr = yield* mapAnon(mm, 3);
    yield* cpuWrite(mm, addr + PAGE_SIZE, new Uint8Array([7]));
    const sub = mirrorNotifier();
    yield* mmuIntervalNotifierInsert(sub, mm, addr, 3 * PAGE_SIZE);
    const snap = rangeOf(sub, addr, 3, 0);
    assert.equal(yield* faultOnce(mm, snap), 0);
    assert.equal(snap.hmmPfns[0], 0);
    assert.ok(hmmPfnHas(snap.hmmPfns[1] ?? 0, HMM_PFN_WRITE));
    assert.equal(snap.hmmPfns[2], 0);
    assert.equal(mm.pgtable.getPte(addr), undefined);
  });
  runOk(k);
});

test("hmm_range_fault: the request is (entry & pfn_flags_mask) | default_flags", () => {
  const { k, mm } = setup({ seed: 3 });
  k.spawn("t", g, function* (): KGen {
    const addr = yield* mapAnon(mm, 3);
    // Page 2 present, so the block has a page table and pages are looked at one by
    // one (a fault in a pmd_none hole faults the whole hole, as in the kernel).
    yield* cpuWrite(mm, addr + 2 * PAGE_SIZE, new Uint8Array([1]));
    const sub = mirrorNotifier();
    yield* mmuIntervalNotifierInsert(sub, mm, addr, 3 * PAGE_SIZE);
    const range = rangeOf(sub, addr, 3, 0);
    range.pfnFlagsMask = HMM_PFN_REQ_FAULT; // per-page fault requests honoured, not writes
    range.hmmPfns = [0, HMM_PFN_REQ_FAULT + HMM_PFN_REQ_WRITE, 0];
    assert.equal(yield* faultOnce(mm, range), 0);
    assert.equal(range.hmmPfns[0], 0);
    assert.ok(hmmPfnHas(range.hmmPfns[1] ?? 0, HMM_PFN_VALID));
    assert.ok(!hmmPfnHas(range.hmmPfns[1] ?? 0, HMM_PFN_WRITE)); // REQ_WRITE masked off
    assert.ok(hmmPfnHas(range.hmmPfns[2] ?? 0, HMM_PFN_WRITE)); // present: reported as is
  });
  runOk(k);
});

test("hmm_range_fault: -EPERM for a write request on a read-only VMA; -EFAULT for PROT_NONE and holes", () => {
  const { k, mm } = setup({ seed: 4 });
  k.spawn("t", g, function* (): KGen {
    const ro = yield* mapAnon(mm, 1, PROT_READ);
    const sub = mirrorNotifier();
    yield* mmuIntervalNotifierInsert(sub, mm, 0, 2 ** 46);
    assert.equal(
      yield* faultOnce(mm, rangeOf(sub, ro, 1, HMM_PFN_REQ_FAULT + HMM_PFN_REQ_WRITE)),
      EPERM,
    );
    const none = yield* mapAnon(mm, 1, 0);
    assert.equal(yield* faultOnce(mm, rangeOf(sub, none, 1, HMM_PFN_REQ_FAULT)), EFAULT);
    const snap = rangeOf(sub, none, 1, 0);
    assert.equal(yield* faultOnce(mm, snap), 0);
    assert.equal(snap.hmmPfns[0], HMM_PFN_ERROR);
    const hole = 0x10000; // never mapped
    assert.equal(yield* faultOnce(mm, rangeOf(sub, hole, 1, HMM_PFN_REQ_FAULT)), EFAULT);
  });
  runOk(k);
});

test("hmm_range_fault: -EBUSY when an invalidation ran since read_begin (forced interleaving)", () => {
  const { k, mm } = setup({ seed: 5 });
  let first = 0;
  let second = 0;
  k.spawn("mirror", g, function* (): KGen {
    const addr = yield* mapAnon(mm, 4);
    const sub = mirrorNotifier();
    yield* mmuIntervalNotifierInsert(sub, mm, addr, 4 * PAGE_SIZE);
    const range = rangeOf(sub, addr, 4, HMM_PFN_REQ_FAULT);
    range.notifierSeq = yield* mmuIntervalReadBegin(sub);
    yield* k.sleep(100); // the invalidation below happens now
    yield* mmapReadLock(mm);
    first = yield* hmmRangeFault(range);
    mmapReadUnlock(mm);
    second = yield* faultOnce(mm, range);
  });
  k.spawn("munmap-ish", g, function* (): KGen {
    yield* k.sleep(50);
    const addr = mm.vmas[0]?.vmStart ?? 0;
    yield* invalidate(mm, addr, addr + PAGE_SIZE);
  });
  runOk(k);
  assert.equal(first, EBUSY);
  assert.equal(second, 0);
});

test("hmm_range_fault: PMD entries report their map order", () => {
  const { k, mm } = setup({ seed: 6 });
  k.spawn("t", g, function* (): KGen {
    const addr = yield* vmMmap(
      mm,
      0,
      2 * 2 ** 21,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    const huge = Math.ceil(addr / 2 ** 21) * 2 ** 21;
    assert.equal(yield* doMadvise(mm, huge, 2 ** 21, MADV_HUGEPAGE), 0);
    yield* cpuWrite(mm, huge, new Uint8Array([1]));
    assert.notEqual(mm.pgtable.getPmd(huge), undefined);
    const sub = mirrorNotifier();
    yield* mmuIntervalNotifierInsert(sub, mm, huge, 2 ** 21);
    const range = rangeOf(sub, huge, 2, 0);
    assert.equal(yield* faultOnce(mm, range), 0);
    assert.equal(hmmPfnToMapOrder(range.hmmPfns[1] ?? 0), HPAGE_PMD_ORDER);
    assert.equal(hmmPfnToPfn(range.hmmPfns[1] ?? 0), hmmPfnToPfn(range.hmmPfns[0] ?? 0) + 1);
  });
  const r = k.run();
  assert.equal(r.status, "ok", r.internalError?.message);
});

test("hmm_range_fault + read_retry under the driver lock: the result matches the CPU page table, across seeds", () => {
  // madvise(MADV_DONTNEED) runs under mmap_lock for read, so it races the walk itself.
  let busy = 0;
  let retried = 0;
  for (let seed = 0; seed < 40; seed++) {
    const { k, mm } = setup({ seed });
    const lock = new Mutex(k, "driver_lock");
    const sub = mirrorNotifier(lock);
    const npages = 4;
    let addr = 0;
    k.spawn("mirror", g, function* (): KGen {
      addr = yield* mapAnon(mm, npages);
      yield* mmuIntervalNotifierInsert(sub, mm, addr, npages * PAGE_SIZE);
      for (let round = 0; round < 3; round++) {
        const range = rangeOf(sub, addr, npages, HMM_PFN_REQ_FAULT + HMM_PFN_REQ_WRITE);
        for (;;) {
          const ret = yield* faultOnce(mm, range);
          if (ret === EBUSY) {
            busy++;
            continue;
          }
          assert.equal(ret, 0);
          yield* lock.lock();
          if (mmuIntervalReadRetry(sub, range.notifierSeq)) {
            retried++;
            lock.unlock();
            continue;
          }
          break;
        }
        // The interlock's promise: under the lock, what we mirror is what the CPU maps.
        for (let i = 0; i < npages; i++) {
          assert.equal(
            hmmPfnToPfn(range.hmmPfns[i] ?? 0),
            mm.pgtable.getPte(addr + i * PAGE_SIZE)?.pfn,
          );
        }
        lock.unlock();
      }
    });
    k.spawn("dontneed", g, function* (): KGen {
      while (addr === 0 || mm.pgtable.getPte(addr) === undefined) yield "wait for the mirror";
      for (let i = 0; i < 6; i++) {
        yield* doMadvise(mm, addr, npages * PAGE_SIZE, MADV_DONTNEED);
        yield* cpuWrite(mm, addr, new Uint8Array([i]));
      }
    });
    runOk(k, `seed ${seed}`);
  }
  assert.ok(busy + retried > 0, "some seed raced the walk with an invalidation");
});
