import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../../src/mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";
import {
  mmapReadLock,
  mmapReadUnlock,
  mmapWriteLock,
  mmapWriteUnlock,
  mmgrab,
  mmput,
  type MmStruct,
} from "../../../src/mm/mmStruct.ts";
import {
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmMirror,
  hmmDeviceEntryToPfn,
  hmmDmaToPfn,
  hmmEntryHas,
  hmmMirrorMmIsAlive,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  hmmRangeDmaMap,
  hmmRangeDmaUnmap,
  hmmRangeFault,
  hmmRangeInit,
  hmmRangeRegister,
  hmmRangeSnapshot,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  mmHmmOf,
  type HmmMirrorOps,
  type HmmRange,
} from "../../../src/mm/notifier/hmmMirror.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../../src/mm/page.ts";
import { NSEC_PER_MSEC } from "../../../src/sim/clock.ts";
import { EAGAIN, EFAULT } from "../../../src/sim/errno.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { g, invalidate, runOk, setup } from "./fixture.ts";

/** The seed's ODP encoding: ODP_READ_BIT, ODP_WRITE_BIT, ODP_DEVICE_BIT; -1, 0, -2. */
const ODP_READ_BIT = 1;
const ODP_WRITE_BIT = 2;
const odpHmmFlags = [ODP_READ_BIT, ODP_WRITE_BIT, 4] as const;
const odpHmmValues = [-1, 0, -2] as const;
const ODP_FLAGS_BITS = 3;

function odpRange(npages: number): HmmRange {
  const range = hmmRangeInit();
  range.pfns = { array: new Array<number>(npages).fill(0), offset: 0 };
  range.flags = odpHmmFlags;
  range.values = odpHmmValues;
  range.pfnShift = ODP_FLAGS_BITS;
  return range;
}

function recordingMirror(log: string[]): HmmMirror {
  const ops: HmmMirrorOps = {
    name: "odp",
    *syncCpuDevicePagetables(_m, update) {
      log.push(`sync ${update.start}-${update.end}${update.blockable ? "" : " nonblock"}`);
      return 0;
    },
    *release() {
      log.push("release");
    },
  };
  return new HmmMirror(ops);
}

/** hmm_mirror_register() under mmap_sem for write, as the seed's alloc_per_mm does. */
function* register(mirror: HmmMirror, mm: MmStruct): KGen<number> {
  yield* mmapWriteLock(mm);
  const ret = yield* hmmMirrorRegister(mirror, mm);
  mmapWriteUnlock(mm);
  return ret;
}

test("hmm_mirror_register: one struct hmm per mm, shared by mirrors; the last unregister frees it after a grace period", () => {
  const { k, mm } = setup({ seed: 1 });
  let freedAtUnregister = true;
  let theHmm: unknown = null;
  const log: string[] = [];
  const a = recordingMirror(log);
  const b = recordingMirror(log);
  k.spawn("t", g, function* (): KGen {
    assert.equal(yield* register(a, mm), 0);
    assert.equal(yield* register(b, mm), 0);
    const hmm = mmHmmOf(mm);
    assert.ok(hmm !== null);
    assert.equal(a.hmm, hmm);
    assert.equal(b.hmm, hmm);
    assert.equal(hmm.kref.read(), 2);
    assert.equal(yield* hmmMirrorMmIsAlive(a), true);
    yield* invalidate(mm, 0x1000, 0x2000);
    yield* hmmMirrorUnregister(a);
    assert.equal(a.hmm, null);
    yield* hmmMirrorUnregister(a); // a double unregister is harmless
    yield* hmmMirrorUnregister(b);
    // With the fix the struct is freed by call_srcu, once callbacks in flight are out.
    freedAtUnregister = hmm.freed;
    theHmm = hmm;
    assert.equal(mmHmmOf(mm), null);
  });
  runOk(k);
  assert.equal(freedAtUnregister, false);
  assert.equal((theHmm as { freed: boolean } | null)?.freed, true);
  assert.deepEqual(log, ["sync 4096-8192", "sync 4096-8192"]);
});

test("hmm_range_register: valid; invalid across a racing invalidation; valid again at its end", () => {
  const { k, mm } = setup({ seed: 2 });
  const mirror = recordingMirror([]);
  const seen: string[] = [];
  k.spawn("fault path", g, function* (): KGen {
    yield* register(mirror, mm);
    const range = odpRange(4);
    assert.equal(yield* hmmRangeRegister(range, mm, 0x10000, 0x14000, PAGE_SHIFT), 0);
    seen.push(`registered valid=${hmmRangeValid(range)}`);
    yield* k.sleep(100);
    seen.push(`during valid=${hmmRangeValid(range)}`);
    const late = odpRange(1);
    assert.equal(yield* hmmRangeRegister(late, mm, 0x40000, 0x41000, PAGE_SHIFT), 0);
    seen.push(`registered during valid=${hmmRangeValid(late)}`);
    yield* k.sleep(1000);
    seen.push(`after valid=${hmmRangeValid(range)} late=${hmmRangeValid(late)}`);
    yield* hmmRangeUnregister(range);
    yield* hmmRangeUnregister(range); // the seed's pagefault_mr does this on success
    yield* hmmRangeUnregister(late);
    yield* hmmMirrorUnregister(mirror);
  });
  k.spawn("munmap", g, function* (): KGen {
    yield* k.sleep(50);
    yield* invalidate(mm, 0x12000, 0x13000, {
      *during() {
        yield* k.sleep(500);
      },
    });
  });
  runOk(k);
  assert.deepEqual(seen, [
    "registered valid=true",
    "during valid=false",
    "registered during valid=false",
    "after valid=true late=true",
  ]);
});

test("hmm_range_wait_until_valid times out on the virtual clock, or returns at the invalidation's end", () => {
  for (const holdMs of [5000, 300]) {
    const { k, mm } = setup({ seed: 3 });
    const mirror = recordingMirror([]);
    let result: boolean | null = null;
    let at = -1;
    k.spawn("fault path", g, function* (): KGen {
      yield* register(mirror, mm);
      const range = odpRange(1);
      yield* hmmRangeRegister(range, mm, 0x10000, 0x11000, PAGE_SHIFT);
      yield* k.sleep(10);
      result = yield* hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT);
      at = k.clock.now();
      yield* hmmRangeUnregister(range);
    });
    k.spawn("munmap", g, function* (): KGen {
      yield* k.sleep(5);
      yield* invalidate(mm, 0x10000, 0x11000, {
        *during() {
          yield* k.sleep(holdMs * NSEC_PER_MSEC);
        },
      });
    });
    runOk(k);
    if (holdMs > HMM_RANGE_DEFAULT_TIMEOUT) {
      assert.equal(result, false);
      assert.equal(at, 10 + HMM_RANGE_DEFAULT_TIMEOUT * NSEC_PER_MSEC);
    } else {
      assert.equal(result, true);
      assert.equal(at, 5 + holdMs * NSEC_PER_MSEC);
    }
  }
});

test("hmm_range_fault + hmm_range_dma_map with the seed's ODP encoding (flags, values, pfn_shift)", () => {
  const { k, mm, phys } = setup({ seed: 4 });
  const mirror = recordingMirror([]);
  k.spawn("t", g, function* (): KGen {
    yield* register(mirror, mm);
    const addr = yield* vmMmap(
      mm,
      0,
      4 * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    const range = odpRange(4);
    yield* hmmRangeRegister(range, mm, addr, addr + 4 * PAGE_SIZE, PAGE_SHIFT);
    range.defaultFlags = ODP_READ_BIT + ODP_WRITE_BIT;
    const daddrs = { array: new Array<number>(4).fill(0), offset: 0 };
    yield* mmapReadLock(mm);
    const ret = yield* hmmRangeDmaMap(range, daddrs, true);
    if (ret !== EAGAIN) mmapReadUnlock(mm);
    assert.equal(ret, 4);
    for (let i = 0; i < 4; i++) {
      const entry = range.pfns.array[i] ?? 0;
      assert.ok(hmmEntryHas(entry, ODP_READ_BIT) && hmmEntryHas(entry, ODP_WRITE_BIT));
      const pfn = hmmDeviceEntryToPfn(range, entry);
      assert.equal(pfn, mm.pgtable.getPte(addr + i * PAGE_SIZE)?.pfn);
      assert.equal(entry, pfn * 8 + 3); // (pfn << pfn_shift) | READ | WRITE
      assert.equal(hmmDmaToPfn(daddrs.array[i] ?? 0), pfn);
    }
    assert.equal(hmmRangeDmaUnmap(range, phys, daddrs, true), 4);
    assert.equal(range.pfns.array[0], 0); // values[HMM_PFN_NONE]
    const first = phys.pfnToPage(mm.pgtable.getPte(addr)?.pfn ?? 0);
    assert.equal(first.dirty, true);
    yield* hmmRangeUnregister(range);
  });
  runOk(k);
});

test("as posted, a read-only walk over the zero page fails with -EFAULT (special PTE)", () => {
  const { k, mm } = setup({ seed: 5 });
  const mirror = recordingMirror([]);
  k.spawn("t", g, function* (): KGen {
    yield* register(mirror, mm);
    const addr = yield* vmMmap(
      mm,
      0,
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    yield* cpuRead(mm, addr, 1); // maps the zero page
    const range = odpRange(1);
    yield* hmmRangeRegister(range, mm, addr, addr + PAGE_SIZE, PAGE_SHIFT);
    range.defaultFlags = ODP_READ_BIT;
    yield* mmapReadLock(mm);
    assert.equal(yield* hmmRangeSnapshot(range), EFAULT);
    assert.equal(yield* hmmRangeFault(range, true), EFAULT);
    mmapReadUnlock(mm);
    assert.equal(range.pfns.array[0], 0); // hmm_pfns_clear(): values[HMM_PFN_NONE]
    yield* hmmRangeUnregister(range);
  });
  runOk(k);
});

test("the review thread's race: struct hmm freed while an SRCU-protected callback still uses it", () => {
  const caught = new Set<string>();
  for (let seed = 0; seed < 60; seed++) {
    const { k, mm } = setup({ seed, defects: ["hmm-notifier-uses-freed-hmm"] });
    const mirror = recordingMirror([]);
    k.spawn("per_mm teardown", g, function* (): KGen {
      yield* register(mirror, mm);
      yield "ready";
      yield* hmmMirrorUnregister(mirror); // the last reference: hmm_free, no grace period
    });
    k.spawn("munmap", g, function* (): KGen {
      while (mmHmmOf(mm) === null) yield "wait for the mirror";
      yield* invalidate(mm, 0, PAGE_SIZE);
    });
    const r = k.run();
    for (const v of r.violations) caught.add(v.kind);
  }
  // Either the callback dereferences the freed hmm, or finds mm->hmm already NULL.
  assert.ok(caught.has("use_after_free") || caught.has("bug_on"), [...caught].join(","));
});

test("with the fix, the same teardown races an invalidation cleanly (60 seeds)", () => {
  for (let seed = 0; seed < 60; seed++) {
    const { k, mm } = setup({ seed });
    const mirror = recordingMirror([]);
    k.spawn("per_mm teardown", g, function* (): KGen {
      yield* register(mirror, mm);
      yield "ready";
      yield* hmmMirrorUnregister(mirror);
    });
    k.spawn("munmap", g, function* (): KGen {
      while (mmHmmOf(mm) === null) yield "wait for the mirror";
      yield* invalidate(mm, 0, PAGE_SIZE);
    });
    const r = k.run();
    assert.deepEqual(r.violations, [], `seed ${seed}`);
  }
});

test("the review thread's race: hmm_range_fault walks the VMAs of an exiting mm without mmget", () => {
  let caught = 0;
  for (let seed = 0; seed < 60; seed++) {
    const { k, mm } = setup({ seed });
    const mirror = recordingMirror([]);
    mmgrab(mm); // the umem's grab: the struct stays, the address space may not
    let addr = 0;
    let faults = 0;
    k.spawn("exit", g, function* (): KGen {
      while (faults === 0) yield "wait";
      yield* mmput(mm); // the process's last user
    });
    k.spawn("fault path", g, function* (): KGen {
      yield* register(mirror, mm); // mm_users is the process's one reference

      addr = yield* vmMmap(
        mm,
        0,
        4 * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
      );
      yield* cpuWrite(mm, addr, new Uint8Array(4 * PAGE_SIZE));
      for (let i = 0; i < 20; i++) {
        if (!(yield* hmmMirrorMmIsAlive(mirror))) break;
        const range = odpRange(4);
        if ((yield* hmmRangeRegister(range, mm, addr, addr + 4 * PAGE_SIZE, PAGE_SHIFT)) !== 0)
          break;
        range.defaultFlags = ODP_READ_BIT;
        yield* mmapReadLock(mm);
        const ret = yield* hmmRangeFault(range, true);
        if (ret !== EAGAIN) mmapReadUnlock(mm);
        faults++;
        yield* hmmRangeUnregister(range);
      }
    });
    const r = k.run();
    if (r.violations.some((v) => v.kind === "hmm_walk_without_mmget")) caught++;
  }
  assert.ok(caught > 0);
});

test("hmm_mirror_register asserts mmap_lock held for write", () => {
  for (const lock of ["none", "read", "write"] as const) {
    const { k, mm } = setup({ stopOnViolation: false });
    const log: string[] = [];
    k.spawn("driver", g, function* (): KGen {
      // The first mirror makes the mm's hmm (and registers its mmu_notifier, which
      // asserts the lock itself); the second finds it, so only hmm_mirror_register checks.
      yield* register(recordingMirror(log), mm);
      if (lock === "read") yield* mmapReadLock(mm);
      if (lock === "write") yield* mmapWriteLock(mm);
      assert.equal(yield* hmmMirrorRegister(recordingMirror(log), mm), 0);
      if (lock === "read") mmapReadUnlock(mm);
      if (lock === "write") mmapWriteUnlock(mm);
    });
    const kinds = k.run().violations.map((v) => v.kind);
    assert.deepEqual(kinds, lock === "write" ? [] : ["lock_not_held"], lock);
  }
});
