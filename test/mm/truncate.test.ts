import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead } from "../../src/mm/access.ts";
import { Inode, filemapGetPage, kernelRead, kernelWrite, openFile } from "../../src/mm/file.ts";
import { MAP_SHARED, PROT_READ, vmMmap, vmMunmap } from "../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { invalidateMappingPages } from "../../src/mm/truncate.ts";
import type { KGen } from "../../src/sim/task.ts";
import { fill, runIn, world } from "./helpers.ts";

test("invalidate_mapping_pages: drops clean, unmapped, unreferenced pages and frees their frames", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", 4 * PAGE_SIZE);
  for (let i = 0; i < 4; i++) inode.backing.set(i, fill(PAGE_SIZE, 0x10 + i));
  const evicted: number[] = [];
  inode.observers.push({ evict: (_inode, index) => evicted.push(index) });
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED, openFile(w.k, inode), 0);
    assert.ok((yield* cpuRead(w.mm, a, 4 * PAGE_SIZE)).ok, "all four pages cached");
    yield* vmMunmap(w.mm, a, 2 * PAGE_SIZE); // pages 0 and 1 are no longer mapped
    kernelWrite(inode, 0, fill(1, 0xee)); // page 0 dirty
    const held = filemapGetPage(inode, 1); // page 1 referenced (as by a pin)
    const used = w.phys.usedFrames;
    assert.equal(yield* invalidateMappingPages(inode), 0, "dirty, held, mapped, mapped");
    assert.ok(held !== null);
    w.phys.putPage(held);
    assert.equal(yield* invalidateMappingPages(inode), 1);
    assert.deepEqual(evicted, [1]);
    assert.deepEqual([...inode.pageCache.keys()].sort(), [0, 2, 3]);
    assert.equal(w.phys.usedFrames, used - 1, "its frame is freed");
    assert.equal(held.kind, "free");
    assert.deepEqual([...kernelRead(inode, PAGE_SIZE, 1)], [0x11], "read again from the disk");
  });
});

test("invalidate_mapping_pages: only the pages in [start, end]", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", 3 * PAGE_SIZE);
  for (let i = 0; i < 3; i++) {
    const page = filemapGetPage(inode, i);
    if (page !== null) w.phys.putPage(page);
  }
  runIn(w, function* (): KGen {
    assert.equal(yield* invalidateMappingPages(inode, 1, 1), 1);
    assert.deepEqual([...inode.pageCache.keys()], [0, 2]);
  });
});
