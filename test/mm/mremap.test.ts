import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../src/mm/mmap.ts";
import { MREMAP_FIXED, MREMAP_MAYMOVE, doMremap } from "../../src/mm/mremap.ts";
import { vmaLookup } from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { EFAULT, EINVAL, ENOMEM } from "../../src/sim/errno.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

test("mremap: a move carries the pages to the new address under an UNMAP range on the old one", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0x4000_0000, 2 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    yield* vmMmap(w.mm, a + 2 * PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED); // blocks growth
    assert.ok((yield* cpuWrite(w.mm, a, fill(2 * PAGE_SIZE, 3))).ok);
    const pfn = walkPte(w.mm, a)?.pte.pfn;
    assert.equal(
      yield* doMremap(w.mm, a, 2 * PAGE_SIZE, 4 * PAGE_SIZE, 0),
      ENOMEM,
      "no room, no MAYMOVE",
    );
    const b = yield* doMremap(w.mm, a, 2 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE);
    assert.ok(b > 0 && b !== a);
    assert.deepEqual(subs.starts(), [["UNMAP", a, a + 2 * PAGE_SIZE]]);
    assert.equal(vmaLookup(w.mm, a), null);
    assert.equal(walkPte(w.mm, b)?.pte.pfn, pfn, "the same frame, moved");
    const r = yield* cpuRead(w.mm, b + PAGE_SIZE, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [3]);
    assert.equal(vmaLookup(w.mm, b + 3 * PAGE_SIZE)?.vmEnd, b + 4 * PAGE_SIZE);
  });
});

test("mremap: grows in place when free, shrinks by unmapping the tail, moves to a fixed address", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0x4000_0000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    assert.equal(yield* doMremap(w.mm, a, PAGE_SIZE, 3 * PAGE_SIZE, 0), a);
    assert.equal(vmaLookup(w.mm, a)?.vmEnd, a + 3 * PAGE_SIZE);
    assert.ok((yield* cpuWrite(w.mm, a + 2 * PAGE_SIZE, fill(1, 1))).ok);
    assert.equal(yield* doMremap(w.mm, a, 3 * PAGE_SIZE, PAGE_SIZE, 0), a);
    assert.equal(walkPte(w.mm, a + 2 * PAGE_SIZE), null);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 5))).ok);
    const to = 0x5000_0000;
    assert.equal(
      yield* doMremap(w.mm, a, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to),
      to,
    );
    const r = yield* cpuRead(w.mm, to, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [5]);
  });
});

test("mremap: errno results", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0x4000_0000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    assert.equal(yield* doMremap(w.mm, a, PAGE_SIZE, 0, 0), EINVAL);
    assert.equal(yield* doMremap(w.mm, a + 1, PAGE_SIZE, PAGE_SIZE, 0), EINVAL);
    assert.equal(yield* doMremap(w.mm, a, PAGE_SIZE, PAGE_SIZE, MREMAP_FIXED, 0x5000_0000), EINVAL);
    assert.equal(yield* doMremap(w.mm, a, 2 * PAGE_SIZE, PAGE_SIZE, 0), EFAULT, "beyond the VMA");
    assert.equal(yield* doMremap(w.mm, 0x6000_0000, PAGE_SIZE, PAGE_SIZE, 0), EFAULT, "no VMA");
  });
});
