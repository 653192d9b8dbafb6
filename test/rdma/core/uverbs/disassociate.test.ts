import assert from "node:assert/strict";
import { test } from "node:test";
import { vmaLookup, type MmStruct } from "../../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import { forkProcess } from "../../../../src/mm/process.ts";
import { VM_SHARED, type VmAreaStruct } from "../../../../src/mm/vma.ts";
import { EIO } from "../../../../src/sim/errno.ts";
import type { KGen } from "../../../../src/sim/task.ts";
import {
  ibUverbsRemoveOne,
  rdmaUserMmapDisassociateDevice,
} from "../../../../src/rdma/core/uverbs/uverbsMain.ts";
import { isUmapTracked } from "../../../../src/rdma/core/uverbs/uverbsFile.ts";
import {
  mmOf,
  mmapObject,
  newProcess,
  openDevice,
  ufileOf,
  type UverbsHost,
} from "../../../../src/check/catalog/uverbs/uverbsHost.ts";
import { DESIGNS, host, read1, runClean, write1 } from "./fixture.ts";

/** What a touch of a disassociated mapping gives in each design. */
const AFTER: Record<string, number | string> = { seed: "SIGBUS", entry: 0 };

function* unplug(h: UverbsHost): KGen {
  yield* ibUverbsRemoveOne(h.udev);
  h.driver.pciRemove();
}

function barPtes(h: UverbsHost, mm: MmStruct): number {
  const bar = h.driver.bar;
  let n = 0;
  for (const [, pte] of mm.pgtable.ptesIn(0, mm.taskSize)) {
    if (pte.pfn >= bar.basePfn && pte.pfn < bar.basePfn + bar.npages) n++;
  }
  return n;
}

for (const design of DESIGNS) {
  test(`${design}: removal zaps every mapping of several files in several mms, then reads give ${String(AFTER[design])}`, () => {
    const h = host({ design });
    runClean(h, function* (p1): KGen {
      const fd1 = yield* openDevice(h, p1);
      const a1 = yield* mmapObject(mmOf(p1), fd1);
      const pg1 = yield* mmapObject(mmOf(p1), fd1, { what: "page" });
      const c1 = yield* forkProcess(p1);
      assert.ok(typeof c1 !== "number");
      h.oracle.watchProcess(c1);
      const p2 = newProcess(h);
      const fd2 = yield* openDevice(h, p2);
      const a2 = yield* mmapObject(mmOf(p2), fd2);
      assert.equal(yield* write1(mmOf(p2), a2, 7), true);
      assert.equal(ufileOf(fd1.file).umaps.length, 4);
      assert.equal(ufileOf(fd2.file).umaps.length, 1);

      yield* unplug(h);

      const ufiles = [ufileOf(fd1.file), ufileOf(fd2.file)];
      for (const ufile of ufiles) {
        assert.equal(ufile.umaps.length, 0);
        assert.equal(ufile.ucontext, null);
        assert.ok(ufile.disassociated);
      }
      for (const mm of [mmOf(p1), mmOf(c1), mmOf(p2)]) assert.equal(barPtes(h, mm), 0, mm.name);
      for (const [mm, addr] of [
        [mmOf(p1), a1],
        [mmOf(p1), pg1],
        [mmOf(c1), a1],
        [mmOf(p2), a2],
      ] as const) {
        const vma = vmaLookup(mm, addr) as VmAreaStruct;
        assert.equal(isUmapTracked(vma), false);
        assert.equal(yield* read1(mm, addr), AFTER[design], `${mm.name} ${addr}`);
      }
    });
  });

  test(`${design}: mmap after removal fails -EIO`, () => {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const fd = yield* openDevice(h, p);
      yield* unplug(h);
      assert.equal(yield* mmapObject(mmOf(p), fd), EIO);
    });
  });

  test(`${design}: a mapping whose mmap is in flight when removal starts is zapped`, () => {
    const h = host({ design });
    let addr = 0;
    let removalStarted = false;
    const driverMmap = h.driver.mmap.bind(h.driver);
    h.driver.mmap = function* (ucontext, vma): KGen<number> {
      yield* h.k.sleep(1000); // the driver is slow: removal starts meanwhile
      const ret = yield* driverMmap(ucontext, vma);
      removalStarted = h.udev.ibDev === null;
      return ret;
    };
    const proc = runClean(h, function* (p): KGen {
      const fd = yield* openDevice(h, p);
      h.k.spawn("unplug", { kind: "device", name: "rdma0" }, () => unplug(h));
      addr = yield* mmapObject(mmOf(p), fd);
    });
    assert.ok(removalStarted, "removal began while the driver was mapping");
    assert.ok(addr > 0, "the mmap that was in flight succeeded");
    const mm = mmOf(proc);
    assert.equal(barPtes(h, mm), 0, "and was zapped by disassociation");
    assert.equal(isUmapTracked(vmaLookup(mm, addr) as VmAreaStruct), false);
    assert.ok(h.driver.bar.released);
  });

  test(`${design}: device reset zaps the mappings but keeps the context; new mmaps work`, () => {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const mm = mmOf(p);
      const fd = yield* openDevice(h, p);
      const a = yield* mmapObject(mm, fd);
      assert.equal(yield* write1(mm, a, 9), true);
      yield* rdmaUserMmapDisassociateDevice(h.udev);
      const ufile = ufileOf(fd.file);
      assert.notEqual(ufile.ucontext, null);
      assert.equal(ufile.umaps.length, 0);
      assert.equal(barPtes(h, mm), 0);
      assert.equal(yield* read1(mm, a), AFTER[design]);
      const b = yield* mmapObject(mm, fd);
      assert.ok(b > 0);
      assert.ok(isUmapTracked(vmaLookup(mm, b) as VmAreaStruct));
      assert.equal(yield* read1(mm, b), 9, "the new mapping reaches the BAR again");
    });
  });
}

test("seed: disassociation clears VM_SHARED; entry: it leaves the flags alone", () => {
  for (const design of DESIGNS) {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const fd = yield* openDevice(h, p);
      const a = yield* mmapObject(mmOf(p), fd);
      yield* unplug(h);
      const shared = ((vmaLookup(mmOf(p), a) as VmAreaStruct).vmFlags & VM_SHARED) !== 0;
      assert.equal(shared, design === "entry", design);
    });
  }
});

test("entry: after removal, the writable VMAs of one file share one zeroed page", () => {
  const h = host({ design: "entry" });
  runClean(h, function* (p): KGen {
    const mm = mmOf(p);
    const fd = yield* openDevice(h, p);
    const a = yield* mmapObject(mm, fd);
    const b = yield* mmapObject(mm, fd, { what: "page" });
    assert.equal(yield* write1(mm, a, 0x11), true);
    yield* unplug(h);
    assert.equal(yield* read1(mm, a), 0, "zeros, not the doorbell's last value");
    assert.equal(yield* write1(mm, a + 1, 0x22), true);
    assert.equal(yield* read1(mm, b + 1), 0x22, "one page behind both VMAs");
    assert.equal(mm.pgtable.getPte(a)?.pfn, ufileOf(fd.file).disassociatePage?.pfn);
    assert.equal(mm.pgtable.getPte(a + PAGE_SIZE - 1)?.pfn, mm.pgtable.getPte(b)?.pfn);
  });
});

test("entry: a copy zapped in ->open has no private data and gets SIGBUS", () => {
  const h = host({ design: "entry" });
  runClean(h, function* (p): KGen {
    const fd = yield* openDevice(h, p);
    const a = yield* mmapObject(mmOf(p), fd);
    yield* unplug(h);
    const child = yield* forkProcess(p);
    assert.ok(typeof child !== "number");
    const vma = vmaLookup(mmOf(child), a) as VmAreaStruct;
    assert.equal(vma.vmPrivateData, null);
    assert.equal(yield* read1(mmOf(child), a), "SIGBUS");
    assert.equal(yield* read1(mmOf(p), a), 0, "the parent's VMA still has its priv");
  });
});
