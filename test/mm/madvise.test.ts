import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { Inode, openFile } from "../../src/mm/file.ts";
import { MADV_DONTNEED, MADV_FREE, doMadvise } from "../../src/mm/madvise.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../src/mm/mmap.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { EINVAL, ENOMEM } from "../../src/sim/errno.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

test("madvise: MADV_DONTNEED zaps under a CLEAR range; the next read sees zeros", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, ANON);
    assert.ok((yield* cpuWrite(w.mm, a, fill(2 * PAGE_SIZE, 7))).ok);
    const used = w.phys.usedFrames;
    assert.equal(yield* doMadvise(w.mm, a, 2 * PAGE_SIZE, MADV_DONTNEED), 0);
    assert.deepEqual(subs.starts(), [["CLEAR", a, a + 2 * PAGE_SIZE]]);
    subs.assertPaired();
    assert.equal(w.phys.usedFrames, used - 2, "the frames were freed");
    const r = yield* cpuRead(w.mm, a + PAGE_SIZE, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [0]);
  });
});

test("madvise: MADV_DONTNEED on a file mapping refaults the file's data", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", PAGE_SIZE);
  inode.backing.set(0, fill(PAGE_SIZE, 4));
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE, openFile(w.k, inode));
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 1))).ok);
    assert.equal(yield* doMadvise(w.mm, a, PAGE_SIZE, MADV_DONTNEED), 0);
    const r = yield* cpuRead(w.mm, a, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [4], "the private copy is gone");
  });
});

test("madvise: MADV_FREE cleans exclusive anonymous pages under CLEAR; -EINVAL on shared memory", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, ANON);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 1))).ok);
    assert.equal(yield* doMadvise(w.mm, a, PAGE_SIZE, MADV_FREE), 0);
    assert.deepEqual(subs.starts(), [["CLEAR", a, a + PAGE_SIZE]]);
    const pte = walkPte(w.mm, a)?.pte;
    assert.equal(pte?.dirty, false);
    assert.equal(w.phys.pfnToPage(pte.pfn).lazyfree, true);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 2))).ok);
    assert.equal(w.phys.pfnToPage(pte.pfn).lazyfree, false, "a store revives it");
    const s = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
    assert.equal(yield* doMadvise(w.mm, s, PAGE_SIZE, MADV_FREE), EINVAL);
  });
});

test("madvise: errno results (bad advice, unaligned, hole → ENOMEM after advising the rest)", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0x4000_0000, 3 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    assert.ok((yield* cpuWrite(w.mm, a, fill(3 * PAGE_SIZE, 1))).ok);
    assert.equal(yield* vmMunmap(w.mm, a + PAGE_SIZE, PAGE_SIZE), 0);
    assert.equal(yield* doMadvise(w.mm, a, PAGE_SIZE, 999), EINVAL);
    assert.equal(yield* doMadvise(w.mm, a + 1, PAGE_SIZE, MADV_DONTNEED), EINVAL);
    assert.equal(yield* doMadvise(w.mm, a, 0, MADV_DONTNEED), 0);
    assert.equal(yield* doMadvise(w.mm, a, 3 * PAGE_SIZE, MADV_DONTNEED), ENOMEM);
    assert.equal(walkPte(w.mm, a), null);
    assert.equal(walkPte(w.mm, a + 2 * PAGE_SIZE), null, "the part after the hole was advised");
  });
});

test("madvise: MADV_DONTNEED on hugetlb: an unaligned start is -EINVAL, the end is rounded down", () => {
  const w = world({ frames: 8 * 512, hugetlbPages: 2 });
  runIn(w, function* (): KGen {
    const h = yield* vmMmap(w.mm, 0, 2 * HPAGE_PMD_SIZE, RW, ANON | MAP_HUGETLB);
    assert.ok((yield* cpuWrite(w.mm, h, fill(1, 1))).ok);
    assert.ok((yield* cpuWrite(w.mm, h + HPAGE_PMD_SIZE, fill(1, 2))).ok);
    assert.equal(yield* doMadvise(w.mm, h + PAGE_SIZE, HPAGE_PMD_SIZE, MADV_DONTNEED), EINVAL);
    assert.notEqual(walkPte(w.mm, h + HPAGE_PMD_SIZE), null, "nothing was zapped");
    assert.equal(yield* doMadvise(w.mm, h, HPAGE_PMD_SIZE + PAGE_SIZE, MADV_DONTNEED), 0);
    assert.equal(walkPte(w.mm, h), null, "the first huge page went");
    assert.notEqual(walkPte(w.mm, h + HPAGE_PMD_SIZE), null, "the end was rounded down");
  });
});
