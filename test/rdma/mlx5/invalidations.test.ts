/**
 * Every kind of CPU page-table change reaches the device, in the classic and
 * hmm-mirror designs (the interval design has its own tests): after munmap, mprotect,
 * MADV_DONTNEED, a COW break after fork, migration and exit, the MTT entry of the page
 * the device had mapped is zapped, and a later device access maps what the CPU maps now
 * (or fails, when the CPU mapping is gone or forbids the access).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  odpHost,
  setupOdpBuffer,
  type OdpBuffer,
  type OdpHost,
} from "../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuWrite } from "../../../src/mm/access.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import { migrateRange } from "../../../src/mm/migrate.ts";
import { PROT_READ, vmMunmap } from "../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { doMprotect } from "../../../src/mm/mprotect.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { exitMm, forkProcess } from "../../../src/mm/process.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import { mttPfn } from "../../../src/rdma/mlx5/mkey.ts";

type Change = (h: OdpHost, mm: MmStruct, buf: OdpBuffer) => KGen;

interface Case {
  readonly name: string;
  readonly change: Change;
  /** Whether a device write after the change succeeds. */
  readonly writeAfter: boolean;
}

const CASES: readonly Case[] = [
  {
    name: "munmap",
    writeAfter: false,
    change: (_h, mm, b) => discard(vmMunmap(mm, b.addr, PAGE_SIZE)),
  },
  {
    name: "mprotect read-only",
    writeAfter: false,
    change: (_h, mm, b) => discard(doMprotect(mm, b.addr, PAGE_SIZE, PROT_READ)),
  },
  {
    name: "MADV_DONTNEED",
    writeAfter: true,
    change: (_h, mm, b) => discard(doMadvise(mm, b.addr, PAGE_SIZE, MADV_DONTNEED)),
  },
  {
    name: "fork, then a CPU write breaks COW",
    writeAfter: true,
    change: function* (h, mm, b) {
      const child = yield* forkProcess(h.proc);
      assert.notEqual(typeof child, "number");
      assert.ok((yield* cpuWrite(mm, b.addr, new Uint8Array([7]))).ok);
    },
  },
  {
    name: "migration",
    writeAfter: true,
    change: (_h, mm, b) => discard(migrateRange(mm, b.addr, b.addr + PAGE_SIZE)),
  },
  { name: "exit", writeAfter: false, change: (h) => exitMm(h.proc) },
];

function* discard(g: KGen<number>): KGen {
  yield* g;
}

for (const design of ["classic", "hmm-mirror"]) {
  for (const c of CASES) {
    if (design === "hmm-mirror" && c.name === "mprotect read-only") continue; // below
    test(`${design}: ${c.name} zaps the device's translation`, () => {
      const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design });
      h.proc.spawnThread("t", function* (): KGen {
        const buf = yield* setupOdpBuffer(h, 2);
        const mm = h.proc.mm;
        assert.ok(mm);
        const mkey = h.dev.mkeys.get(buf.mr.lkey);
        assert.ok(mkey?.mtt);
        const req = { key: buf.mr.lkey, va: buf.addr, buf: new Uint8Array(8), write: true };
        assert.equal(yield* mlx5DeviceDma(h.dev, h.design, req), 0);
        assert.notEqual(mkey.mtt.get(0), 0);
        yield* c.change(h, mm, buf);
        assert.equal(mkey.mtt.get(0), 0, "MTT entry zapped");
        const again = yield* mlx5DeviceDma(h.dev, h.design, { ...req, buf: new Uint8Array([1]) });
        assert.equal(again === 0, c.writeAfter, `device write after ${c.name}: ${again}`);
        if (c.writeAfter) {
          const cpu = walkPte(mm, buf.addr);
          assert.ok(cpu);
          assert.equal(mttPfn(mkey.mtt.get(0)), cpu.pte.pfn, "the device maps the CPU's frame");
        }
      });
      const r = h.k.run();
      assert.equal(r.status, "ok", JSON.stringify(r.violations));
    });
  }
}

test("hmm-mirror: a device write into a VMA made read-only never completes (v5.2 HMM livelock)", () => {
  // hmm_range_fault() of v5.2 has no VM_WRITE check: it asks handle_mm_fault() for a
  // write, which (maybe_mkwrite) leaves the read-only PTE read-only, and walks again,
  // for ever. Later kernels return -EPERM. The classic design's GUP fails -EFAULT.
  const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design: "hmm-mirror" });
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    const mm = h.proc.mm;
    assert.ok(mm);
    const req = { key: buf.mr.lkey, va: buf.addr, buf: new Uint8Array(8), write: true };
    assert.equal(yield* mlx5DeviceDma(h.dev, h.design, req), 0);
    yield* doMprotect(mm, buf.addr, PAGE_SIZE, PROT_READ);
    yield* mlx5DeviceDma(h.dev, h.design, req);
    assert.fail("the device write completed");
  });
  assert.equal(h.k.run().status, "step_bound");
});
