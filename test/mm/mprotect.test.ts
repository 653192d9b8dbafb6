import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { Inode, openFile } from "../../src/mm/file.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../src/mm/mmap.ts";
import { doMprotect } from "../../src/mm/mprotect.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { VM_READ, VM_WRITE } from "../../src/mm/vma.ts";
import { EACCES, EINVAL, ENOMEM } from "../../src/sim/errno.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

test("mprotect: read-only in the middle splits the VMA and write-protects under PROTECTION_VMA", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 4 * PAGE_SIZE, RW, ANON);
    assert.ok((yield* cpuWrite(w.mm, a, fill(4 * PAGE_SIZE, 1))).ok);
    assert.equal(yield* doMprotect(w.mm, a + PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ), 0);
    assert.deepEqual(
      w.mm.vmas.map((v) => [(v.vmStart - a) / PAGE_SIZE, v.vmFlags & (VM_READ | VM_WRITE)]),
      [
        [0, VM_READ | VM_WRITE],
        [1, VM_READ],
        [3, VM_READ | VM_WRITE],
      ],
    );
    assert.deepEqual(subs.starts(), [["PROTECTION_VMA", a + PAGE_SIZE, a + 3 * PAGE_SIZE]]);
    subs.assertPaired();
    assert.equal(walkPte(w.mm, a + PAGE_SIZE)?.pte.writable, false);
    assert.equal(walkPte(w.mm, a)?.pte.writable, true);
    const r = yield* cpuWrite(w.mm, a + 2 * PAGE_SIZE, fill(1, 2));
    assert.equal(r.ok ? "ok" : r.fault.signal, "SIGSEGV");
    assert.ok((yield* cpuWrite(w.mm, a + 3 * PAGE_SIZE, fill(1, 2))).ok);
  });
});

test("mprotect: PROT_NONE keeps the data out of reach until access is given back", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, ANON);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 9))).ok);
    assert.equal(yield* doMprotect(w.mm, a, PAGE_SIZE, PROT_NONE), 0);
    const r = yield* cpuRead(w.mm, a, 1);
    assert.equal(r.ok ? "ok" : r.fault.signal, "SIGSEGV");
    assert.equal(yield* doMprotect(w.mm, a, PAGE_SIZE, RW), 0);
    const back = yield* cpuRead(w.mm, a, 1);
    assert.deepEqual(back.ok ? [...back.data] : null, [9]);
    assert.ok((yield* cpuWrite(w.mm, a, fill(1, 8))).ok, "the exclusive page is reused writable");
  });
});

test("mprotect: errno results", () => {
  const w = world();
  const ro = openFile(w.k, new Inode(w.phys, "ro", PAGE_SIZE), { read: true, write: false });
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, ANON);
    assert.equal(yield* doMprotect(w.mm, a + 1, PAGE_SIZE, PROT_READ), EINVAL);
    assert.equal(yield* doMprotect(w.mm, a, PAGE_SIZE, 0x100), EINVAL);
    assert.equal(yield* doMprotect(w.mm, a, 0, PROT_READ), 0);
    assert.equal(
      yield* doMprotect(w.mm, a, 2 * PAGE_SIZE, PROT_READ),
      ENOMEM,
      "hole after the VMA",
    );
    assert.equal(yield* doMprotect(w.mm, 0x10_0000, PAGE_SIZE, PROT_READ), ENOMEM);
    const f = yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, ro);
    assert.equal(yield* doMprotect(w.mm, f, PAGE_SIZE, RW), EACCES, "no VM_MAYWRITE");
  });
});
