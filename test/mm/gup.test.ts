import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { File } from "../../src/mm/file.ts";
import {
  getUserPagesRemote,
  pinUserPagesRemote,
  putUserPages,
  unpinUserPagesDirtyLock,
} from "../../src/mm/gup.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../src/mm/mmap.ts";
import { MmStruct, mmapReadLock, mmapReadUnlock } from "../../src/mm/mmStruct.ts";
import { PhysMem } from "../../src/mm/physMem.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import type { GupFlags } from "../../src/mm/gup.ts";
import { remapPfnRange } from "../../src/mm/remap.ts";
import { EFAULT, ENOMEM } from "../../src/sim/errno.ts";
import type { KGen } from "../../src/sim/task.ts";
import { fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function* gup(
  mm: MmStruct,
  start: number,
  n: number,
  flags: GupFlags,
  out: number[],
): KGen<number> {
  yield* mmapReadLock(mm);
  const r = yield* getUserPagesRemote(mm, start, n, flags, out);
  mmapReadUnlock(mm);
  return r;
}

test("gup: faults pages in (write → private frames, read → zero page) and takes references", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 3 * PAGE_SIZE, RW, ANON);
    const out: number[] = [];
    assert.equal(yield* gup(w.mm, a, 2, { write: true }, out), 2);
    assert.deepEqual(out, [walkPte(w.mm, a)?.pte.pfn, walkPte(w.mm, a + PAGE_SIZE)?.pte.pfn]);
    assert.equal(w.phys.pfnToPage(out[0] ?? 0).refcount, 2);
    const ro: number[] = [];
    assert.equal(yield* gup(w.mm, a + 2 * PAGE_SIZE, 1, {}, ro), 1);
    assert.deepEqual(ro, [w.phys.zeroPage.pfn]);
    putUserPages(w.phys, out);
    assert.equal(w.phys.pfnToPage(out[0] ?? 0).refcount, 1);
  });
});

test("gup: -EFAULT with no VMA, on VM_IO/VM_PFNMAP, and for a write to read-only memory; short counts", () => {
  const w = world();
  const dev = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      return remapPfnRange(vma, vma.vmStart, 5000, PAGE_SIZE);
    },
  });
  runIn(w, function* (): KGen {
    const out: number[] = [];
    assert.equal(yield* gup(w.mm, 0x10_0000, 1, {}, out), EFAULT);
    const io = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, dev);
    assert.equal(yield* gup(w.mm, io, 1, {}, out), EFAULT);
    const ro = yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ, ANON);
    assert.equal(yield* gup(w.mm, ro, 1, { write: true }, out), EFAULT);
    const rw = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, ANON);
    assert.equal(rw + PAGE_SIZE, ro, "adjacent, so the range runs into the read-only VMA");
    assert.equal(yield* gup(w.mm, rw, 2, { write: true }, out), 1, "the pages before the error");
    assert.equal(out.length, 1);
  });
});

test("gup: FOLL_FORCE writes a private copy of read-only memory", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const ro = yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ, ANON);
    const out: number[] = [];
    assert.equal(yield* gup(w.mm, ro, 1, { write: true, force: true }, out), 1);
    assert.notEqual(out[0], w.phys.zeroPage.pfn);
    assert.equal(walkPte(w.mm, ro)?.pte.writable, false, "still read-only for the CPU");
  });
});

test("gup: a pinned frame outlives munmap and is freed by the unpin; -ENOMEM when memory runs out", () => {
  const w = world({ frames: 8 });
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, ANON);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 4))).ok);
    const pins: number[] = [];
    yield* mmapReadLock(w.mm);
    assert.equal(yield* pinUserPagesRemote(w.mm, a, 1, { write: true, longterm: true }, pins), 1);
    mmapReadUnlock(w.mm);
    assert.equal(yield* vmMunmap(w.mm, a, PAGE_SIZE), 0);
    const page = w.phys.pfnToPage(pins[0] ?? 0);
    assert.equal(page.kind, "anon", "still allocated");
    unpinUserPagesDirtyLock(w.phys, pins, true);
    assert.equal(page.kind, "free");
    const big = yield* vmMmap(w.mm, 0, 16 * PAGE_SIZE, RW, ANON);
    const out: number[] = [];
    const n = yield* gup(w.mm, big, 16, { write: true }, out);
    assert.equal(n, 7, "every free frame, then a short count");
    assert.equal(yield* gup(w.mm, big + 7 * PAGE_SIZE, 1, { write: true }, []), ENOMEM);
    const r = yield* cpuRead(w.mm, big, 1);
    assert.ok(r.ok);
  });
});

test("gup: __get_user_pages may be preempted before each page (cond_resched), even when all are present", () => {
  // Another task can run between taking page 0 and page 1: over some seeds it sees the
  // GUP with exactly one page taken.
  const seen = new Set<number>();
  for (let seed = 0; seed < 60; seed++) {
    const k = new Kernel({ seed });
    const phys = new PhysMem(k, { frames: 64 });
    const mm = new MmStruct(k, phys, "test");
    const pages: number[] = [];
    let done = false;
    const group = { kind: "host", name: "t" } as const;
    k.spawn("gup", group, function* (): KGen {
      const a = yield* vmMmap(mm, 0, 3 * PAGE_SIZE, RW, ANON);
      assert.ok((yield* cpuWrite(mm, a, fill(3 * PAGE_SIZE, 1))).ok);
      assert.equal(yield* gup(mm, a, 3, {}, pages), 3);
      done = true;
    });
    k.spawn("observer", group, function* (): KGen {
      while (!done) {
        seen.add(pages.length);
        yield "look";
      }
    });
    assert.equal(k.run().status, "ok");
  }
  assert.ok(seen.has(1) && seen.has(2), `GUP states seen: ${[...seen].join(",")}`);
});
