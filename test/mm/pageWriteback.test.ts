import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { Inode, openFile, readBacking, writebackInode } from "../../src/mm/file.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE, vmMmap } from "../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { filemapWriteAndWait, folioClearDirtyForIo } from "../../src/mm/pageWriteback.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;

test("writeback: cleans the mapped page's PTE first, then writes it; a later store re-dirties it", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  const inode = new Inode(w.phys, "f", 2 * PAGE_SIZE);
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED, openFile(w.k, inode), 0);
    assert.ok((yield* cpuWrite(w.mm, a, fill(3, 5))).ok);
    assert.ok((yield* cpuRead(w.mm, a + PAGE_SIZE, 1)).ok, "page 1 is cached but clean");
    w.mm.notifierSubscriptions = subs;
    assert.equal(yield* filemapWriteAndWait(inode), 1);
    assert.deepEqual([...readBacking(inode, 0, 4)], [5, 5, 5, 0]);
    assert.deepEqual(subs.starts(), [["PROTECTION_PAGE", a, a + PAGE_SIZE]], "dirty pages only");
    assert.equal(inode.pageCache.get(0)?.dirty, false);
    assert.equal(walkPte(w.mm, a)?.pte.writable, false, "write-protected for the next store");
    assert.equal(walkPte(w.mm, a + PAGE_SIZE)?.pte.writable, true, "the clean page untouched");
    assert.equal(yield* filemapWriteAndWait(inode), 0, "nothing dirty left");
    assert.ok((yield* cpuWrite(w.mm, a + 1, fill(1, 9))).ok);
    assert.equal(inode.pageCache.get(0)?.dirty, true);
    assert.equal(yield* filemapWriteAndWait(inode), 1);
    assert.deepEqual([...readBacking(inode, 0, 3)], [5, 9, 5]);
  });
});

test("writeback: folio_clear_dirty_for_io folds a PTE dirty bit into the page before clearing", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", PAGE_SIZE);
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, openFile(w.k, inode), 0);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 1))).ok);
    const page = inode.pageCache.get(0);
    assert.ok(page !== undefined);
    // A store known only to the PTE (as a CPU's store is in Linux until it is folded).
    page.dirty = false;
    assert.equal(yield* folioClearDirtyForIo(inode, 0, page), true, "must be written");
    assert.equal(page.dirty, false);
    assert.equal(walkPte(w.mm, a)?.pte.dirty, false);
    assert.equal(yield* folioClearDirtyForIo(inode, 0, page), false, "clean everywhere now");
  });
});

test("writeback: the non-sleeping writeback refuses a page mirrors would have to be told of", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", PAGE_SIZE);
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, openFile(w.k, inode), 0);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 1))).ok);
    w.mm.notifierSubscriptions = new RecordingSubscriptions();
    assert.throws(() => writebackInode(inode), /mirrors to notify/);
    w.mm.notifierSubscriptions = null;
    assert.equal(writebackInode(inode), 1);
    assert.equal(walkPte(w.mm, a)?.pte.writable, false, "it cleans the PTE too");
  });
});
