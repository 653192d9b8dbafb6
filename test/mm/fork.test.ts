import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { File } from "../../src/mm/file.ts";
import { dupMm, setForkOpensBeforeCopy } from "../../src/mm/fork.ts";
import { MADV_DONTFORK, doMadvise } from "../../src/mm/madvise.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../src/mm/mmap.ts";
import { mmapReadLock, mmapReadUnlock, vmaLookup, type MmStruct } from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { pinUserPagesRemote } from "../../src/mm/gup.ts";
import { Process, exitMm, forkProcess } from "../../src/mm/process.ts";
import type { VmOperationsStruct } from "../../src/mm/vma.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;

function* read1(mm: MmStruct, addr: number): KGen<number | string> {
  const r = yield* cpuRead(mm, addr, 1);
  return r.ok ? (r.data[0] ?? -1) : r.fault.signal;
}

test("fork: private memory is copy-on-write both ways; the parent's PTEs are write-protected under PROTECTION_PAGE", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.ok((yield* cpuWrite(w.mm, a, fill(2 * PAGE_SIZE, 1))).ok);
    const child = yield* dupMm(w.mm);
    assert.ok(typeof child !== "number");
    assert.deepEqual(subs.starts(), [["PROTECTION_PAGE", a, a + 2 * PAGE_SIZE]]);
    subs.assertPaired();
    assert.equal(walkPte(w.mm, a)?.pte.writable, false);
    assert.equal(walkPte(child, a)?.pte.pfn, walkPte(w.mm, a)?.pte.pfn, "shared until written");
    assert.ok((yield* cpuWrite(child, a, fill(1, 2))).ok);
    assert.ok((yield* cpuWrite(w.mm, a + PAGE_SIZE, fill(1, 3))).ok);
    assert.equal(yield* read1(w.mm, a), 1, "the child's write is not seen by the parent");
    assert.equal(
      yield* read1(child, a + PAGE_SIZE),
      1,
      "the parent's write is not seen by the child",
    );
    assert.equal(yield* read1(child, a), 2);
    assert.equal(yield* read1(w.mm, a + PAGE_SIZE), 3);
  });
});

test("fork: a shared anonymous mapping stays shared between parent and child", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 4))).ok);
    const child = yield* dupMm(w.mm);
    assert.ok(typeof child !== "number");
    assert.equal(yield* read1(child, a), 4);
    assert.ok((yield* cpuWrite(child, a, fill(1, 5))).ok);
    assert.equal(yield* read1(w.mm, a), 5);
  });
});

test("fork: VM_DONTCOPY areas are not copied; ->open runs on each copied VMA", () => {
  const w = world();
  let opens = 0;
  const ops: VmOperationsStruct = {
    *open(): KGen {
      opens++;
    },
  };
  const dev = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      vma.vmOps = ops;
      return 0;
    },
  });
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.equal(yield* doMadvise(w.mm, a + PAGE_SIZE, PAGE_SIZE, MADV_DONTFORK), 0);
    yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, dev);
    const child = yield* dupMm(w.mm);
    assert.ok(typeof child !== "number");
    assert.equal(yield* read1(child, a), 0);
    assert.equal(yield* read1(child, a + PAGE_SIZE), "SIGSEGV");
    assert.equal(opens, 1);
  });
});

test("fork: a page pinned for DMA is copied for the child; the parent keeps its frame writable", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 6))).ok);
    const pfns: number[] = [];
    yield* mmapReadLock(w.mm);
    assert.equal(yield* pinUserPagesRemote(w.mm, a, 1, { write: true, longterm: true }, pfns), 1);
    mmapReadUnlock(w.mm);
    const child = yield* dupMm(w.mm);
    assert.ok(typeof child !== "number");
    assert.equal(walkPte(w.mm, a)?.pte.pfn, pfns[0]);
    assert.equal(walkPte(w.mm, a)?.pte.writable, true);
    assert.notEqual(walkPte(child, a)?.pte.pfn, pfns[0]);
    assert.equal(yield* read1(child, a), 6);
  });
});

test("process: fork and exit; the child's exit frees its private copies", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const parent = new Process(w.k, w.phys, w.mm);
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 1))).ok);
    const used = w.phys.usedFrames;
    const child = yield* forkProcess(parent);
    assert.ok(child instanceof Process);
    assert.equal(child.group.name, `pid ${child.pid}`);
    assert.ok(child.mm !== null && (yield* cpuWrite(child.mm, a, fill(1, 2))).ok);
    assert.equal(w.phys.usedFrames, used + 1);
    yield* exitMm(child);
    assert.equal(child.mm, null);
    assert.equal(w.phys.usedFrames, used);
  });
});

for (const openFirst of [false, true]) {
  const era = openFirst ? "v6.9+ (35e351780fa9)" : "before v6.9";
  test(`fork, ${era}: ->open of a copied private VMA runs ${openFirst ? "before" : "after"} copy_page_range`, () => {
    const w = world();
    setForkOpensBeforeCopy(w.k, openFirst);
    let sawPte: boolean | null = null;
    const ops: VmOperationsStruct = {
      *open(vma): KGen {
        sawPte = walkPte(vma.vmMm, vma.vmStart) !== null;
      },
    };
    runIn(w, function* (): KGen {
      const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
      assert.ok((yield* cpuWrite(w.mm, a, fill(1, 7))).ok);
      const vma = vmaLookup(w.mm, a);
      assert.ok(vma !== null);
      vma.vmOps = ops; // a driver's vm_operations on an ordinary private mapping
      const child = yield* dupMm(w.mm);
      assert.ok(typeof child !== "number");
      assert.equal(yield* read1(child, a), 7, "the private page was copied either way");
    });
    assert.equal(sawPte, !openFirst);
  });
}
