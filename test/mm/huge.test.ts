import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { splitHugePmd } from "../../src/mm/huge.ts";
import { MADV_HUGEPAGE, doMadvise } from "../../src/mm/madvise.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../src/mm/mmap.ts";
import { mmapReadLock, mmapReadUnlock, vmaLookup } from "../../src/mm/mmStruct.ts";
import { HPAGE_PMD_SHIFT, HPAGE_PMD_SIZE, PAGE_SHIFT, PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const THP_AT = 0x4000_0000;

function* thp(w: ReturnType<typeof world>): KGen {
  yield* vmMmap(w.mm, THP_AT, HPAGE_PMD_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  assert.equal(yield* doMadvise(w.mm, THP_AT, HPAGE_PMD_SIZE, MADV_HUGEPAGE), 0);
  assert.ok((yield* cpuWrite(w.mm, THP_AT + 5 * PAGE_SIZE, fill(1, 6))).ok);
  assert.equal(walkPte(w.mm, THP_AT)?.shift, HPAGE_PMD_SHIFT);
}

test("THP split: 512 PTEs with the same frames, under a CLEAR range over the 2 MiB block", () => {
  const w = world({ frames: 4 * 512 });
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    yield* thp(w);
    const head = walkPte(w.mm, THP_AT)?.pte.pfn ?? -1;
    yield* mmapReadLock(w.mm);
    yield* splitHugePmd(vmaLookup(w.mm, THP_AT) ?? assert.fail(), THP_AT);
    mmapReadUnlock(w.mm);
    assert.deepEqual(subs.starts(), [["CLEAR", THP_AT, THP_AT + HPAGE_PMD_SIZE]]);
    const walk = walkPte(w.mm, THP_AT + 7 * PAGE_SIZE);
    assert.equal(walk?.shift, PAGE_SHIFT);
    assert.equal(walk.pte.pfn, head + 7);
    const r = yield* cpuRead(w.mm, THP_AT + 5 * PAGE_SIZE, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [6]);
  });
});

test("THP: munmap of part of a THP splits it; the frames go when the last PTE does", () => {
  const w = world({ frames: 4 * 512 });
  runIn(w, function* (): KGen {
    const before = w.phys.usedFrames;
    yield* thp(w);
    assert.equal(w.phys.usedFrames, before + 512);
    assert.equal(yield* vmMunmap(w.mm, THP_AT, PAGE_SIZE), 0);
    assert.equal(walkPte(w.mm, THP_AT + PAGE_SIZE)?.shift, PAGE_SHIFT);
    assert.equal(w.phys.usedFrames, before + 512, "the folio is still mapped by 511 PTEs");
    assert.equal(yield* vmMunmap(w.mm, THP_AT, HPAGE_PMD_SIZE), 0);
    assert.equal(w.phys.usedFrames, before);
  });
});

test("hugetlb: MAP_HUGETLB maps a 2 MiB entry on first touch; the pool limit gives SIGBUS", () => {
  const w = world({ frames: 8 * 512, hugetlbPages: 1 });
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(
      w.mm,
      0,
      2 * HPAGE_PMD_SIZE,
      RW,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
    );
    assert.ok((yield* cpuWrite(w.mm, a + 3, fill(1, 1))).ok);
    assert.equal(walkPte(w.mm, a + HPAGE_PMD_SIZE - 1)?.shift, HPAGE_PMD_SHIFT);
    const r = yield* cpuRead(w.mm, a + HPAGE_PMD_SIZE, 1);
    assert.equal(r.ok ? "ok" : r.fault.signal, "SIGBUS");
  });
});

test("THP/hugetlb after fork: a write splits the shared THP (CLEAR) and copies one page; hugetlb copies 2 MiB", async () => {
  const { dupMm } = await import("../../src/mm/fork.ts");
  const w = world({ frames: 8 * 512 });
  runIn(w, function* (): KGen {
    yield* thp(w);
    const h = yield* vmMmap(w.mm, 0, HPAGE_PMD_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
    assert.ok((yield* cpuWrite(w.mm, h, fill(1, 2))).ok);
    const child = yield* dupMm(w.mm);
    assert.ok(typeof child !== "number");
    const subs = new RecordingSubscriptions();
    child.notifierSubscriptions = subs;
    assert.ok((yield* cpuWrite(child, THP_AT + 5 * PAGE_SIZE, fill(1, 9))).ok);
    assert.deepEqual(subs.starts(), [
      ["CLEAR", THP_AT, THP_AT + HPAGE_PMD_SIZE],
      ["CLEAR", THP_AT + 5 * PAGE_SIZE, THP_AT + 6 * PAGE_SIZE],
    ]);
    const parent = yield* cpuRead(w.mm, THP_AT + 5 * PAGE_SIZE, 1);
    assert.deepEqual(parent.ok ? [...parent.data] : null, [6]);
    assert.equal(walkPte(w.mm, THP_AT)?.shift, HPAGE_PMD_SHIFT, "the parent keeps its huge entry");
    assert.ok((yield* cpuWrite(child, h, fill(1, 3))).ok);
    assert.notEqual(walkPte(child, h)?.pte.pfn, walkPte(w.mm, h)?.pte.pfn);
    const hp = yield* cpuRead(w.mm, h, 1);
    assert.deepEqual(hp.ok ? [...hp.data] : null, [2]);
  });
});
