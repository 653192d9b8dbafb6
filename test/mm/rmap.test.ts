import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { Inode, openFile } from "../../src/mm/file.ts";
import { dupMm } from "../../src/mm/fork.ts";
import {
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../src/mm/mmap.ts";
import { mmput, type MmStruct } from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { folioMkclean, rmapWalkFileShared, vmaAddress } from "../../src/mm/rmap.ts";
import { VmAreaStruct } from "../../src/mm/vma.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;

test("rmap: vma_address places a file page by the VMA's page offset", () => {
  const w = world();
  const vma = new VmAreaStruct(w.mm, {
    start: 0x10000,
    end: 0x10000 + 4 * PAGE_SIZE,
    flags: 0,
    pgoff: 3,
  });
  assert.equal(vmaAddress(vma, 3), 0x10000);
  assert.equal(vmaAddress(vma, 6), 0x10000 + 3 * PAGE_SIZE);
  assert.equal(vmaAddress(vma, 2), null, "before the VMA's window of the file");
  assert.equal(vmaAddress(vma, 7), null, "past its end");
});

test("rmap: i_mmap holds the file's VMAs from mmap (and fork) until munmap", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", 4 * PAGE_SIZE);
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 4 * PAGE_SIZE, RW, MAP_SHARED, openFile(w.k, inode), 0);
    assert.equal(inode.iMmap.size, 1);
    const child = (yield* dupMm(w.mm, "child")) as MmStruct;
    assert.deepEqual(
      [...inode.iMmap].map((v) => v.vmMm.name),
      ["test", "child"],
    );
    assert.equal(yield* vmMunmap(w.mm, a + PAGE_SIZE, PAGE_SIZE), 0, "a hole splits the VMA");
    assert.deepEqual(
      rmapWalkFileShared(inode, 2).map((h) => [h.vma.vmMm.name, h.address - a]),
      [
        ["child", 2 * PAGE_SIZE],
        ["test", 2 * PAGE_SIZE],
      ],
    );
    assert.deepEqual(
      rmapWalkFileShared(inode, 1).map((h) => h.vma.vmMm.name),
      ["child"],
      "the unmapped page is only in the child",
    );
    yield* mmput(child);
    yield* vmMunmap(w.mm, a, 4 * PAGE_SIZE);
    assert.equal(inode.iMmap.size, 0);
  });
});

test("rmap: folio_mkclean write-protects and cleans a shared PTE under a PROTECTION_PAGE range", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  const inode = new Inode(w.phys, "f", 2 * PAGE_SIZE);
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED, openFile(w.k, inode), 0);
    assert.ok((yield* cpuWrite(w.mm, a + PAGE_SIZE, fill(4, 7))).ok);
    w.mm.notifierSubscriptions = subs;
    const page = inode.pageCache.get(1);
    assert.ok(page !== undefined);
    assert.equal(yield* folioMkclean(inode, 1, page), 1);
    const pte = walkPte(w.mm, a + PAGE_SIZE)?.pte;
    assert.ok(pte !== undefined);
    assert.equal(pte.writable, false);
    assert.equal(pte.dirty, false);
    assert.deepEqual(subs.starts(), [["PROTECTION_PAGE", a + PAGE_SIZE, a + 2 * PAGE_SIZE]]);
    subs.assertPaired();
    assert.equal(yield* folioMkclean(inode, 1, page), 0, "nothing left to clean");
    assert.ok((yield* cpuWrite(w.mm, a + PAGE_SIZE, fill(1, 8))).ok, "a store faults back in");
    assert.equal(walkPte(w.mm, a + PAGE_SIZE)?.pte.writable, true);
    assert.equal(page.dirty, true, "wp_page_shared dirtied it");
  });
});

test("rmap: folio_mkclean leaves private mappings and unmapped pages alone", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  const inode = new Inode(w.phys, "f", PAGE_SIZE);
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE, openFile(w.k, inode), 0);
    assert.ok((yield* cpuRead(w.mm, a, 1)).ok, "maps the cache page read-only");
    w.mm.notifierSubscriptions = subs;
    const page = inode.pageCache.get(0);
    assert.ok(page !== undefined);
    assert.equal(yield* folioMkclean(inode, 0, page), 0);
    assert.deepEqual(subs.calls, [], "invalid_mkclean_vma: private VMAs are skipped");
    yield* vmMunmap(w.mm, a, PAGE_SIZE);
    assert.equal(yield* folioMkclean(inode, 0, page), 0);
  });
});
