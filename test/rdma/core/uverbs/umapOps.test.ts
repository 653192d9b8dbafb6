import assert from "node:assert/strict";
import { test } from "node:test";
import { PROT_READ, vmMunmap } from "../../../../src/mm/mmap.ts";
import { doMprotect } from "../../../../src/mm/mprotect.ts";
import { vmaLookup } from "../../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../../src/mm/page.ts";
import { exitMm, forkProcess, type Process } from "../../../../src/mm/process.ts";
import type { VmAreaStruct } from "../../../../src/mm/vma.ts";
import type { KGen } from "../../../../src/sim/task.ts";
import type { IbUcontext } from "../../../../src/rdma/core/ucontext.ts";
import { ibUverbsOpen } from "../../../../src/rdma/core/uverbs/uverbsMain.ts";
import { isUmapTracked, type IbUverbsFile } from "../../../../src/rdma/core/uverbs/uverbsFile.ts";
import { DoorbellDriver } from "../../../../src/rdma/core/uverbs/doorbellDriver.ts";
import { rdmaUserMmapIo } from "../../../../src/rdma/core/uverbs/userMmap.ts";
import {
  mmOf,
  mmapObject,
  openDevice,
  ufileOf,
} from "../../../../src/check/catalog/uverbs/uverbsHost.ts";
import { DESIGNS, host, read1, runClean } from "./fixture.ts";

function vmaAt(p: Process, addr: number): VmAreaStruct {
  const vma = vmaLookup(mmOf(p), addr);
  assert.ok(vma !== null, `no VMA at ${addr}`);
  return vma;
}

function trackedVmas(ufile: IbUverbsFile): string[] {
  return ufile.umaps.map((priv) => `${priv.vma.vmMm.name}:${priv.vma.vmStart}-${priv.vma.vmEnd}`);
}

for (const design of DESIGNS) {
  test(`${design}: fork tracks the child's copy as well as the parent's VMA`, () => {
    const h = host({ design });
    runClean(h, function* (p): KGen {
      const fd = yield* openDevice(h, p);
      const addr = yield* mmapObject(mmOf(p), fd);
      const child = yield* forkProcess(p);
      assert.ok(typeof child !== "number");
      h.oracle.watchProcess(child);
      const ufile = ufileOf(fd.file);
      assert.equal(ufile.umaps.length, 2);
      assert.ok(isUmapTracked(vmaAt(p, addr)));
      assert.ok(isUmapTracked(vmaAt(child, addr)));
      assert.notEqual(vmaAt(p, addr).vmPrivateData, vmaAt(child, addr).vmPrivateData);
      // the child maps the same BAR page
      assert.equal(mmOf(child).pgtable.getPte(addr)?.pfn, mmOf(p).pgtable.getPte(addr)?.pfn);
      yield* exitMm(child);
      assert.equal(ufile.umaps.length, 1, "the child's exit dropped only its tracking");
      assert.ok(isUmapTracked(vmaAt(p, addr)));
    });
  });
}

/** A driver mapping a 4-page window of its BAR, so that VMAs can be split. */
class WindowDriver extends DoorbellDriver {
  override *mmap(ucontext: IbUcontext, vma: VmAreaStruct): KGen<number> {
    return yield* rdmaUserMmapIo(ucontext, vma, this.bar.basePfn, 4 * PAGE_SIZE, "noncached");
  }
}

function* openWindow(
  h: ReturnType<typeof host>,
  p: Process,
): KGen<{ addr: number; ufile: IbUverbsFile }> {
  const file = yield* ibUverbsOpen(h.udev, mmOf(p), p.pid);
  assert.ok(typeof file !== "number");
  const addr = yield* mmapObject(
    mmOf(p),
    { file, offsets: { doorbell: 0, page: 0 } },
    {
      len: 4 * PAGE_SIZE,
    },
  );
  assert.ok(addr > 0, `mmap returned ${addr}`);
  return { addr, ufile: ufileOf(file) };
}

function windowHost(): ReturnType<typeof host> {
  return host({ design: "seed", makeDriver: (phys, design) => new WindowDriver(phys, design) });
}

test("munmap of the middle of a tracked VMA leaves both pieces tracked", () => {
  const h = windowHost();
  runClean(h, function* (p): KGen {
    const { addr, ufile } = yield* openWindow(h, p);
    assert.equal(yield* vmMunmap(mmOf(p), addr + PAGE_SIZE, PAGE_SIZE), 0);
    const low = vmaAt(p, addr);
    const high = vmaAt(p, addr + 2 * PAGE_SIZE);
    assert.notEqual(low, high);
    assert.ok(isUmapTracked(low));
    assert.ok(isUmapTracked(high));
    assert.equal(ufile.umaps.length, 2, trackedVmas(ufile).join(" "));
    assert.equal(mmOf(p).pgtable.getPte(addr + PAGE_SIZE), undefined);
    assert.equal(mmOf(p).pgtable.getPte(addr + 2 * PAGE_SIZE)?.pfn, h.driver.bar.basePfn + 2);
  });
});

test("mprotect of part of a tracked VMA leaves every piece tracked", () => {
  const h = windowHost();
  runClean(h, function* (p): KGen {
    const { addr, ufile } = yield* openWindow(h, p);
    assert.equal(yield* doMprotect(mmOf(p), addr + PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
    const pieces = [addr, addr + PAGE_SIZE, addr + 2 * PAGE_SIZE].map((a) => vmaAt(p, a));
    assert.equal(new Set(pieces).size, 3);
    for (const vma of pieces) assert.ok(isUmapTracked(vma), vma.describe());
    assert.equal(ufile.umaps.length, 3);
    assert.equal(
      yield* read1(mmOf(p), addr + PAGE_SIZE),
      0,
      "the read-only piece still maps the BAR",
    );
  });
});

test("munmap closes the VMA and drops its tracking", () => {
  const h = host();
  runClean(h, function* (p): KGen {
    const fd = yield* openDevice(h, p);
    const a = yield* mmapObject(mmOf(p), fd);
    const b = yield* mmapObject(mmOf(p), fd, { what: "page" });
    const ufile = ufileOf(fd.file);
    assert.equal(ufile.umaps.length, 2);
    const privA = vmaAt(p, a).vmPrivateData;
    assert.equal(yield* vmMunmap(mmOf(p), a, PAGE_SIZE), 0);
    assert.equal(ufile.umaps.length, 1);
    assert.ok(isUmapTracked(vmaAt(p, b)));
    assert.ok(typeof privA === "object" && privA !== null && "freed" in privA && privA.freed);
  });
});
