import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { File, Inode, openFile } from "../../src/mm/file.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../src/mm/mmap.ts";
import { MMAP_BASE, vmaLookup } from "../../src/mm/mmStruct.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../../src/mm/page.ts";
import { walkPte } from "../../src/mm/pageTable.ts";
import { remapPfnRange } from "../../src/mm/remap.ts";
import { VM_IO, VM_PFNMAP, type VmAreaStruct, type VmOperationsStruct } from "../../src/mm/vma.ts";
import { EACCES, EBADF, EEXIST, EINVAL, ENOMEM, ENODEV } from "../../src/sim/errno.ts";
import type { KGen } from "../../src/sim/task.ts";
import { RecordingSubscriptions, fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

test("mmap: addresses come top-down below mmap_base, abutting", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 3 * PAGE_SIZE, RW, ANON);
    const b = yield* vmMmap(w.mm, 0, 100, RW, ANON);
    assert.equal(a, MMAP_BASE - 3 * PAGE_SIZE);
    assert.equal(b, a - PAGE_SIZE, "length rounds up to a page");
    const h = yield* vmMmap(w.mm, 0, 1, RW, ANON | MAP_HUGETLB);
    assert.equal(h % HPAGE_PMD_SIZE, 0);
    assert.equal(vmaLookup(w.mm, h)?.vmEnd, h + HPAGE_PMD_SIZE);
  });
});

test("mmap: argument errors return the kernel's errno", () => {
  const w = world();
  const roFile = openFile(w.k, new Inode(w.phys, "ro", PAGE_SIZE), { read: true, write: false });
  const devNoMmap = new File(w.k, null, {});
  runIn(w, function* (): KGen {
    assert.equal(yield* vmMmap(w.mm, 0, 0, RW, ANON), EINVAL, "zero length");
    assert.equal(yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, ANON, null, 100), EINVAL, "offset");
    assert.equal(yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_ANONYMOUS), EINVAL, "no type");
    assert.equal(yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE), EBADF, "no file");
    assert.equal(yield* vmMmap(w.mm, 0x10_0100, PAGE_SIZE, RW, ANON | MAP_FIXED), EINVAL);
    assert.equal(
      yield* vmMmap(w.mm, 0x20_0000 + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED | MAP_HUGETLB),
      EINVAL,
    );
    assert.equal(yield* vmMmap(w.mm, 0, 2 ** 48, RW, ANON), ENOMEM);
    assert.equal(yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, roFile), EACCES);
    assert.ok((yield* vmMmap(w.mm, 0, PAGE_SIZE, PROT_READ, MAP_SHARED, roFile)) > 0);
    assert.equal(yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, devNoMmap), ENODEV);
  });
});

test("mmap: MAP_FIXED replaces the old mapping (UNMAP range); NOREPLACE refuses", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 4 * PAGE_SIZE, RW, ANON);
    assert.ok((yield* cpuWrite(w.mm, a + PAGE_SIZE, fill(8, 0x55))).ok);
    const at = a + PAGE_SIZE;
    assert.equal(yield* vmMmap(w.mm, at, PAGE_SIZE, RW, ANON | MAP_FIXED_NOREPLACE), EEXIST);
    assert.equal(yield* vmMmap(w.mm, at, PAGE_SIZE, RW, ANON | MAP_FIXED), at);
    assert.deepEqual(subs.starts(), [["UNMAP", at, at + PAGE_SIZE]]);
    const r = yield* cpuRead(w.mm, at, 1);
    assert.deepEqual(r.ok ? [...r.data] : null, [0], "the new mapping is fresh memory");
    assert.equal(w.mm.vmas.length, 3);
  });
});

test("munmap: a hole in the middle splits the VMA; ->open on the piece kept, ->close on the one removed", () => {
  const w = world();
  const subs = new RecordingSubscriptions();
  w.mm.notifierSubscriptions = subs;
  const log: string[] = [];
  const ops: VmOperationsStruct = {
    *open(vma: VmAreaStruct): KGen {
      log.push(`open ${(vma.vmStart - base) / PAGE_SIZE}-${(vma.vmEnd - base) / PAGE_SIZE}`);
    },
    *close(vma: VmAreaStruct): KGen {
      log.push(`close ${(vma.vmStart - base) / PAGE_SIZE}-${(vma.vmEnd - base) / PAGE_SIZE}`);
    },
  };
  let base = 0;
  const file = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      vma.vmOps = ops;
      return remapPfnRange(vma, vma.vmStart, 7000, vma.vmEnd - vma.vmStart);
    },
  });
  runIn(w, function* (): KGen {
    base = yield* vmMmap(w.mm, 0, 8 * PAGE_SIZE, RW, MAP_SHARED, file);
    assert.equal(yield* vmMunmap(w.mm, base + 2 * PAGE_SIZE, 3 * PAGE_SIZE), 0);
    assert.deepEqual(
      w.mm.vmas.map((v) => [(v.vmStart - base) / PAGE_SIZE, (v.vmEnd - base) / PAGE_SIZE]),
      [
        [0, 2],
        [5, 8],
      ],
    );
    assert.deepEqual(log, ["open 0-2", "open 5-8", "close 2-5"]);
    assert.deepEqual(subs.starts(), [["UNMAP", base + 2 * PAGE_SIZE, base + 5 * PAGE_SIZE]]);
    assert.equal(walkPte(w.mm, base + 3 * PAGE_SIZE), null);
    assert.equal(walkPte(w.mm, base + 5 * PAGE_SIZE)?.pte.pfn, 7005, "the rest stays mapped");
    assert.equal(w.mm.vmas[1]?.vmPgoff, (w.mm.vmas[0]?.vmPgoff ?? 0) + 5);
  });
});

test("munmap: errors and a range with nothing mapped", () => {
  const w = world();
  runIn(w, function* (): KGen {
    assert.equal(yield* vmMunmap(w.mm, 0x10_0001, PAGE_SIZE), EINVAL);
    assert.equal(yield* vmMunmap(w.mm, 0x10_0000, 0), EINVAL);
    assert.equal(yield* vmMunmap(w.mm, 0x10_0000, PAGE_SIZE), 0);
    const h = yield* vmMmap(w.mm, 0, HPAGE_PMD_SIZE, RW, ANON | MAP_HUGETLB);
    assert.equal(
      yield* vmMunmap(w.mm, h + PAGE_SIZE, PAGE_SIZE),
      EINVAL,
      "hugetlb splits at 2 MiB",
    );
  });
});

test("mmap: a driver ->mmap error fails the mmap and leaves nothing behind", () => {
  const w = world();
  const dev = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      remapPfnRange(vma, vma.vmStart, 9000, PAGE_SIZE);
      yield "driver";
      return EINVAL;
    },
  });
  runIn(w, function* (): KGen {
    assert.equal(yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_SHARED, dev), EINVAL);
    assert.equal(w.mm.vmas.length, 0);
    assert.equal(w.mm.pgtable.entries, 0);
    assert.equal(dev.fCount.read(), 1, "the VMA's file reference was dropped");
  });
});

test("mmap: remap_pfn_range marks the VMA VM_IO | VM_PFNMAP and maps special PTEs", () => {
  const w = world();
  const io = w.phys.allocIoRegion("bar0", 1);
  const dev = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      return remapPfnRange(vma, vma.vmStart, io.basePfn, PAGE_SIZE);
    },
  });
  runIn(w, function* (): KGen {
    const addr = yield* vmMmap(w.mm, 0, PAGE_SIZE, RW, MAP_SHARED, dev);
    const vma = vmaLookup(w.mm, addr);
    assert.equal((vma?.vmFlags ?? 0) & (VM_IO | VM_PFNMAP), VM_IO | VM_PFNMAP);
    assert.equal(walkPte(w.mm, addr)?.pte.special, true);
    assert.ok((yield* cpuWrite(w.mm, addr + 4, fill(2, 0xee))).ok);
    assert.deepEqual(
      [...io.frame(io.basePfn).subarray(4, 6)],
      [0xee, 0xee],
      "the store hit IO memory",
    );
  });
});

test("mmap/munmap: random sequences keep VMAs sorted, disjoint and equal to a page model", () => {
  const op = fc.record({
    unmap: fc.boolean(),
    page: fc.integer({ min: 0, max: 31 }),
    pages: fc.integer({ min: 1, max: 8 }),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
      const w = world();
      const base = 0x4000_0000;
      const model = new Set<number>();
      runIn(w, function* (): KGen {
        for (const o of ops) {
          const addr = base + o.page * PAGE_SIZE;
          const len = o.pages * PAGE_SIZE;
          const r = o.unmap
            ? yield* vmMunmap(w.mm, addr, len)
            : yield* vmMmap(w.mm, addr, len, RW, ANON | MAP_FIXED);
          assert.ok(r >= 0);
          for (let i = 0; i < o.pages; i++) {
            if (o.unmap) model.delete(o.page + i);
            else model.add(o.page + i);
          }
        }
      });
      let last = 0;
      for (const v of w.mm.vmas) {
        assert.ok(v.vmStart >= last && v.vmStart < v.vmEnd);
        last = v.vmEnd;
      }
      for (let p = 0; p < 40; p++) {
        assert.equal(vmaLookup(w.mm, base + p * PAGE_SIZE) !== null, model.has(p), `page ${p}`);
      }
    }),
    { numRuns: 150 },
  );
});
