import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../src/sim/kernel.ts";
import { HPAGE_PMD_NR, PAGE_SIZE, compoundHead } from "../../src/mm/page.ts";
import { PhysMem } from "../../src/mm/physMem.ts";

function mem(frames: number, hugetlbPages?: number): PhysMem {
  const k = new Kernel();
  return new PhysMem(k, hugetlbPages === undefined ? { frames } : { frames, hugetlbPages });
}

test("physMem: a frame's bytes are allocated on first write; reads before give zeros", () => {
  const phys = mem(16);
  const page = phys.allocPage("anon");
  assert.ok(page !== null);
  assert.equal(page.data, null);
  const out = new Uint8Array(8).fill(7);
  phys.readBytes(page.pfn, 100, out);
  assert.deepEqual(out, new Uint8Array(8));
  phys.writeBytes(page.pfn, 100, new Uint8Array([1, 2, 3]));
  assert.equal(phys.pfnToPage(page.pfn).data?.length, PAGE_SIZE);
  phys.readBytes(page.pfn, 100, out, 0, 3);
  assert.deepEqual([...out.subarray(0, 3)], [1, 2, 3]);
});

test("physMem: a freed frame is reused first (LIFO), one generation later, zeroed", () => {
  const phys = mem(16);
  const a = phys.allocPage("anon");
  const b = phys.allocPage("anon");
  assert.ok(a !== null && b !== null);
  phys.writeBytes(a.pfn, 0, new Uint8Array([9]));
  const gen = a.generation;
  phys.putPage(b);
  phys.putPage(a);
  const again = phys.allocPage("anon");
  assert.equal(again?.pfn, a.pfn, "the last frame freed is the first reused");
  assert.equal(again.generation, gen + 1);
  const out = new Uint8Array(1);
  phys.readBytes(again.pfn, 0, out);
  assert.equal(out[0], 0, "a reused frame is cleared for its new owner");
  assert.equal(phys.allocPage("anon")?.pfn, b.pfn);
});

test("physMem: allocation fails (null → ENOMEM) when every frame is in use", () => {
  const phys = mem(4); // pfn 0 is the zero page
  const pages = [phys.allocPage("anon"), phys.allocPage("anon"), phys.allocPage("anon")];
  assert.ok(pages.every((p) => p !== null));
  assert.equal(phys.allocPage("anon"), null);
  assert.equal(phys.usedFrames, 4);
  phys.putPage(pages[1] ?? assert.fail());
  assert.notEqual(phys.allocPage("anon"), null);
});

test("physMem: a pin holds a reference, so the frame outlives put_page until unpinned", () => {
  const phys = mem(8);
  const page = phys.allocPage("anon") ?? assert.fail();
  phys.pinPage(page);
  assert.equal(page.pincount, 1);
  phys.putPage(page); // the owner's reference
  assert.equal(page.kind, "anon", "still allocated while pinned");
  const gen = page.generation;
  phys.unpinPage(page);
  assert.equal(page.kind, "free");
  assert.equal(page.generation, gen + 1);
});

test("physMem: huge pages are 2 MiB aligned compound pages whose tails point at the head", () => {
  const phys = mem(4 * HPAGE_PMD_NR);
  const head = phys.allocHugePage("anon") ?? assert.fail();
  assert.equal(head.pfn % HPAGE_PMD_NR, 0);
  const tail = phys.pfnToPage(head.pfn + 5);
  assert.equal(compoundHead(tail), head);
  phys.getPage(tail);
  assert.equal(head.refcount, 2, "counts live on the head");
  phys.putPage(tail);
  phys.putPage(head);
  assert.equal(tail.kind, "free");
  assert.equal(phys.allocHugePage("anon")?.pfn, head.pfn, "the freed block is reused");
});

test("physMem: the hugetlb pool limit is honoured", () => {
  const phys = mem(8 * HPAGE_PMD_NR, 1);
  const h = phys.allocHugePage("hugetlb");
  assert.notEqual(h, null);
  assert.equal(phys.allocHugePage("hugetlb"), null);
  assert.notEqual(phys.allocHugePage("anon"), null, "THP is not limited by the pool");
});

test("physMem: the zero page is never freed; a put_page underflow is reported", () => {
  const k = new Kernel();
  const phys = new PhysMem(k, { frames: 8 });
  phys.putPage(phys.zeroPage);
  phys.putPage(phys.zeroPage);
  assert.equal(phys.zeroPage.kind, "zero");
  const page = phys.allocPage("anon") ?? assert.fail();
  phys.putPage(page);
  phys.putPage(page);
  assert.equal(k.violations[0]?.kind, "bad_page");
});
