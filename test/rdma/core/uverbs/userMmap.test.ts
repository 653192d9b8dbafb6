import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../../../src/mm/mmap.ts";
import { vmaLookup } from "../../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import { walkPte } from "../../../../src/mm/pageTable.ts";
import { VM_IO, VM_PFNMAP, VM_SHARED, type VmAreaStruct } from "../../../../src/mm/vma.ts";
import { EINVAL } from "../../../../src/sim/errno.ts";
import type { KGen } from "../../../../src/sim/task.ts";
import { rdmaUserMmapIo } from "../../../../src/rdma/core/uverbs/userMmap.ts";
import { isUmapTracked } from "../../../../src/rdma/core/uverbs/uverbsFile.ts";
import {
  mmOf,
  mmapObject,
  openDevice,
  ufileOf,
} from "../../../../src/check/catalog/uverbs/uverbsHost.ts";
import { DESIGNS, host, read1, runClean, runProcess, write1 } from "./fixture.ts";

for (const design of DESIGNS) {
  test(`${design}: mmap of the doorbell maps the BAR page as a tracked pfn map`, () => {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const mm = mmOf(p);
      const fd = yield* openDevice(h, p);
      const addr = yield* mmapObject(mm, fd);
      assert.ok(addr > 0, `mmap returned ${addr}`);
      const vma = vmaLookup(mm, addr) as VmAreaStruct;
      assert.equal(vma.vmFlags & (VM_IO | VM_PFNMAP), VM_IO | VM_PFNMAP);
      assert.ok(isUmapTracked(vma));
      assert.equal(ufileOf(fd.file).umaps.length, 1);
      const ucontext = ufileOf(fd.file).ucontext;
      assert.ok(ucontext !== null);
      const { doorbellPfn } = h.driver.objects(ucontext);
      assert.equal(walkPte(mm, addr)?.pte.pfn, doorbellPfn);
      assert.equal(yield* write1(mm, addr + 8, 0x5a), true);
      assert.equal(h.driver.bar.frame(doorbellPfn)[8], 0x5a, "the store reached the BAR");
      assert.equal(yield* read1(mm, addr + 8), 0x5a);
    });
  });

  test(`${design}: mmap of the driver page shares the driver's page`, () => {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const mm = mmOf(p);
      const fd = yield* openDevice(h, p);
      const addr = yield* mmapObject(mm, fd, { what: "page" });
      assert.ok(addr > 0, `mmap returned ${addr}`);
      const ucontext = ufileOf(fd.file).ucontext;
      assert.ok(ucontext !== null);
      const { page } = h.driver.objects(ucontext);
      assert.equal(walkPte(mm, addr)?.pte.pfn, page.pfn);
      assert.ok(isUmapTracked(vmaLookup(mm, addr) as VmAreaStruct));
    });
  });

  test(`${design}: a mapping of the wrong size is refused with -EINVAL and tracks nothing`, () => {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const mm = mmOf(p);
      const fd = yield* openDevice(h, p);
      assert.equal(yield* mmapObject(mm, fd, { len: 2 * PAGE_SIZE }), EINVAL);
      assert.equal(mm.vmas.length, 0);
      assert.equal(mm.pgtable.entries, 0);
      assert.equal(ufileOf(fd.file).umaps.length, 0);
    });
  });
}

test("entry: a MAP_PRIVATE mapping of IO memory is refused with -EINVAL (VM_SHARED required)", () => {
  const h = host({ design: "entry" });
  runClean(h, function* (p): KGen {
    const mm = mmOf(p);
    const fd = yield* openDevice(h, p);
    assert.equal(yield* mmapObject(mm, fd, { flags: MAP_PRIVATE }), EINVAL);
    assert.equal(mm.vmas.length, 0);
  });
});

test("seed: MAP_PRIVATE of the doorbell is accepted (seed 004 has no VM_SHARED check)", () => {
  const h = host({ design: "seed" });
  runClean(h, function* (p): KGen {
    const mm = mmOf(p);
    const fd = yield* openDevice(h, p);
    const addr = yield* mmapObject(mm, fd, { flags: MAP_PRIVATE });
    assert.ok(addr > 0);
    assert.equal((vmaLookup(mm, addr) as VmAreaStruct).vmFlags & VM_SHARED, 0);
  });
});

for (const design of DESIGNS) {
  test(`${design}: rdma_user_mmap_io outside ib_uverbs_mmap warns and fails -EINVAL`, () => {
    const h = host({ design });
    let ret = 0;
    const { violations } = runProcess(h, function* (p): KGen {
      const mm = mmOf(p);
      const fd = yield* openDevice(h, p);
      const ucontext = ufileOf(fd.file).ucontext;
      assert.ok(ucontext !== null);
      // An anonymous shared mapping: its vm_file is not the uverbs file.
      const addr = yield* vmMmap(
        mm,
        0,
        PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS,
      );
      const vma = vmaLookup(mm, addr) as VmAreaStruct;
      ret = yield* rdmaUserMmapIo(ucontext, vma, h.driver.bar.basePfn, PAGE_SIZE, "noncached");
    });
    assert.equal(ret, EINVAL);
    assert.deepEqual(
      violations.map((v) => v.kind),
      ["warn_on"],
    );
  });
}
