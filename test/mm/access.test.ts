import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { File } from "../../src/mm/file.ts";
import { MADV_DONTNEED, doMadvise } from "../../src/mm/madvise.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../src/mm/mmap.ts";
import { MmStruct } from "../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { PhysMem } from "../../src/mm/physMem.ts";
import { Process } from "../../src/mm/process.ts";
import { vmInsertPage } from "../../src/mm/remap.ts";
import { VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, type VmFault } from "../../src/mm/vma.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import type { KGen } from "../../src/sim/task.ts";
import { fill, runIn, world } from "./helpers.ts";

const RW = PROT_READ | PROT_WRITE;

test("access: a driver ->fault can hand back a page, insert one itself, or refuse with SIGBUS", () => {
  const w = world();
  const page = w.phys.allocPage("kernel") ?? assert.fail();
  w.phys.writeBytes(page.pfn, 0, fill(1, 0x42));
  const dev = new File(w.k, null, {
    *mmap(_f, vma): KGen<number> {
      vma.vmOps = {
        *fault(vmf: VmFault): KGen<number> {
          const index = (vmf.address - vmf.vma.vmStart) / PAGE_SIZE;
          if (index === 0) {
            w.phys.getPage(page);
            vmf.page = page;
            return 0;
          }
          if (index === 1) {
            vmInsertPage(vmf.vma, vmf.address, page);
            return VM_FAULT_NOPAGE;
          }
          return VM_FAULT_SIGBUS;
        },
      };
      return 0;
    },
  });
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 3 * PAGE_SIZE, RW, MAP_SHARED, dev);
    for (const i of [0, 1]) {
      const r = yield* cpuRead(w.mm, a + i * PAGE_SIZE, 1);
      assert.deepEqual(r.ok ? [...r.data] : null, [0x42]);
    }
    const r = yield* cpuRead(w.mm, a + 2 * PAGE_SIZE, 1);
    assert.equal(r.ok ? "ok" : r.fault.signal, "SIGBUS");
    assert.equal(page.mapcount, 2);
  });
});

test("access: two threads faulting the same pages while a third zaps them stay consistent (seeds 0..29)", () => {
  for (let seed = 0; seed < 30; seed++) {
    const k = new Kernel({ seed });
    const phys = new PhysMem(k, { frames: 256 });
    const p = new Process(k, phys, new MmStruct(k, phys));
    const mm = p.mm ?? assert.fail();
    const base = 0x4000_0000;
    let setupDone = false;
    p.spawnThread("setup", function* (): KGen {
      yield* vmMmap(mm, base, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
      setupDone = true;
    });
    for (const v of [1, 2]) {
      p.spawnThread(`writer${v}`, function* (): KGen {
        while (!setupDone) yield "wait";
        for (let i = 0; i < 3; i++) {
          const r = yield* cpuWrite(mm, base + i * PAGE_SIZE, fill(2 * PAGE_SIZE, v));
          assert.ok(r.ok);
        }
      });
    }
    p.spawnThread("zapper", function* (): KGen {
      while (!setupDone) yield "wait";
      assert.equal(yield* doMadvise(mm, base, 4 * PAGE_SIZE, MADV_DONTNEED), 0);
    });
    const r = k.run();
    assert.equal(r.status, "ok", `seed ${seed}: ${r.internalError?.message ?? ""}`);
    const mapped = mm.pgtable.ptesIn(base, base + 4 * PAGE_SIZE).length;
    assert.equal(phys.usedFrames, 1 + mapped, `seed ${seed}: no frame leaked or lost`);
  }
});

test("access: a load reads what a store wrote across a page boundary", () => {
  const w = world();
  runIn(w, function* (): KGen {
    const a = yield* vmMmap(w.mm, 0, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    assert.ok((yield* cpuWrite(w.mm, a + PAGE_SIZE - 100, data)).ok);
    const r = yield* cpuRead(w.mm, a + PAGE_SIZE - 100, 300);
    assert.deepEqual(r.ok ? r.data : null, data);
  });
});
