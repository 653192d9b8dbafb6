import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { Inode, kernelRead, openFile, readBacking, writebackInode } from "../../src/mm/file.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../src/mm/mmap.ts";
import { HPAGE_PMD_SHIFT, PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

test("memory: a read maps the zero page read-only; a write then copies it (CLEAR range)", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, ANON);
    const r = yield* cpuRead(w.mm, addr, 16);
    assert.ok(r.ok);
    assert.deepEqual(r.data, new Uint8Array(16));
    const zero = walkPte(w.mm, addr);
    assert.equal(zero?.pte.pfn, w.phys.zeroPage.pfn);
    assert.equal(zero.pte.writable, false);
    assert.deepEqual(subs.calls, [], "installing an entry notifies nobody");
    assert.ok((yield* cpuWrite(w.mm, addr + 8, fill(4, 0xab))).ok);
    const pte = walkPte(w.mm, addr)?.pte;
    assert.notEqual(pte?.pfn, w.phys.zeroPage.pfn);
    assert.equal(pte?.writable, true);
    assert.equal(pte.dirty, true);
    assert.deepEqual(subs.starts(), [["CLEAR", addr, addr + PAGE_SIZE]]);
    subs.assertPaired();
    const back = yield* cpuRead(w.mm, addr, 16);
    assert.ok(back.ok);
    assert.deepEqual([...back.data.subarray(6, 14)], [0, 0, 0xab, 0xab, 0xab, 0xab, 0, 0]);
  });
});

test("memory: a write fault on untouched anonymous memory allocates without notifying", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, 4 * PAGE_SIZE, RW, ANON);
    const before = w.phys.usedFrames;
    assert.ok((yield* cpuWrite(w.mm, addr + PAGE_SIZE - 2, fill(4, 1))).ok, "spans two pages");
    assert.equal(w.phys.usedFrames, before + 2);
    assert.deepEqual(subs.calls, []);
  });
});

test("memory: SIGSEGV for an unmapped address, a PROT_NONE read and a read-only write", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const none = yield* vmMmap(w.mm, 0, PAGE_SIZE, 0, ANON);
    const ro = yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ, ANON);
    const r1 = yield* cpuRead(w.mm, 0x1000_0000, 1);
    assert.deepEqual(r1, { ok: false, fault: { signal: "SIGSEGV", addr: 0x1000_0000 } });
    const r2 = yield* cpuRead(w.mm, none, 1);
    assert.equal(r2.ok ? "ok" : r2.fault.signal, "SIGSEGV");
    assert.ok((yield* cpuRead(w.mm, ro, 1)).ok);
    const r3 = yield* cpuWrite(w.mm, ro, fill(1, 1));
    assert.equal(r3.ok ? "ok" : r3.fault.signal, "SIGSEGV");
  });
});

test("memory: a shared file mapping's store reaches the file through writeback", () => {
  const w = world();
  const inode = new Inode(w.phys, "data", 2 * PAGE_SIZE);
  inode.backing.set(1, fill(PAGE_SIZE, 5));
  const file = openFile(w.k, inode);
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED, file, 0);
    const r = yield* cpuRead(w.mm, addr + PAGE_SIZE, 2);
    assert.ok(r.ok);
    assert.deepEqual([...r.data], [5, 5], "read through the page cache");
    assert.ok((yield* cpuWrite(w.mm, addr + 10, fill(3, 0x77))).ok);
    assert.equal(inode.pageCache.get(0)?.dirty, true);
    assert.deepEqual([...readBacking(inode, 10, 3)], [0, 0, 0], "not yet written back");
    assert.deepEqual([...kernelRead(inode, 10, 3)], [0x77, 0x77, 0x77], "a reader sees the cache");
    assert.equal(writebackInode(inode), 1);
    assert.deepEqual([...readBacking(inode, 10, 3)], [0x77, 0x77, 0x77]);
    assert.equal(inode.pageCache.get(0)?.dirty, false);
  });
});

test("memory: a private file mapping copies on write and leaves the file alone", () => {
  const w = world();
  const inode = new Inode(w.phys, "data", PAGE_SIZE);
  inode.backing.set(0, fill(PAGE_SIZE, 3));
  const file = openFile(w.k, inode);
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE, file, 0);
    assert.ok((yield* cpuRead(w.mm, addr, 1)).ok);
    const cached = inode.pageCache.get(0);
    assert.equal(walkPte(w.mm, addr)?.pte.pfn, cached?.pfn, "read maps the cache page");
    assert.ok((yield* cpuWrite(w.mm, addr, fill(1, 9))).ok);
    assert.notEqual(walkPte(w.mm, addr)?.pte.pfn, cached?.pfn);
    assert.deepEqual([...kernelRead(inode, 0, 2)], [3, 3]);
    const r = yield* cpuRead(w.mm, addr, 2);
    assert.deepEqual(r.ok ? [...r.data] : null, [9, 3]);
  });
});

test("memory: SIGBUS for a page of a file mapping beyond the end of the file", () => {
  const w = world();
  const file = openFile(w.k, new Inode(w.phys, "short", 100));
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, file, 0);
    assert.ok((yield* cpuRead(w.mm, addr + 200, 1)).ok, "the rest of the last page reads zero");
    const r = yield* cpuRead(w.mm, addr + PAGE_SIZE, 1);
    assert.equal(r.ok ? "ok" : r.fault.signal, "SIGBUS");
  });
});

test("memory: a write in a VM_HUGEPAGE area maps a 2 MiB THP", async () => {
  const { MADV_HUGEPAGE, doMadvise } = await import("../../src/mm/madvise.ts");
  const w = world({ frames: 8 * 512 });
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, 4 << 20, RW, ANON);
    assert.equal(yield* doMadvise(w.mm, addr, 4 << 20, MADV_HUGEPAGE), 0);
    const at = Math.ceil(addr / (2 << 20)) * (2 << 20);
    assert.ok((yield* cpuWrite(w.mm, at + 12345, fill(1, 1))).ok);
    const walk = walkPte(w.mm, at + 8 * PAGE_SIZE);
    assert.equal(walk?.shift, HPAGE_PMD_SHIFT);
    assert.equal(walk.base, at);
  });
});
