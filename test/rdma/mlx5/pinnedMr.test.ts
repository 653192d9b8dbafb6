/**
 * A pinned (non-ODP) MR: its pages are pinned at registration and the device's view is
 * fixed from then on. CPU changes that replace the process's page (MADV_DONTNEED, a COW
 * break after fork) do not move the device, which keeps the pinned frame alive and keeps
 * using it; deregistration drops the pins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuRead, cpuWrite } from "../../../src/mm/access.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { forkProcess } from "../../../src/mm/process.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { IB_ACCESS_LOCAL_WRITE } from "../../../src/rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvDeregMr, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import { mttPfn } from "../../../src/rdma/mlx5/mkey.ts";

test("pinned MR: pinned at registration; MADV_DONTNEED and fork do not move the device's view; dereg unpins", () => {
  const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "classic" });
  h.proc.spawnThread("t", function* (): KGen {
    const mm = h.proc.mm;
    assert.ok(mm);
    const addr = yield* vmMmap(
      mm,
      0,
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    assert.ok((yield* cpuWrite(mm, addr, new Uint8Array([5]))).ok);
    const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    const mr = yield* ibvRegMr(pd, addr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
    assert.ok(typeof mr !== "number", "pinned reg_mr failed");
    const pinnedPfn = walkPte(mm, addr)?.pte.pfn;
    assert.ok(pinnedPfn !== undefined);
    const page = h.phys.pfnToPage(pinnedPfn);
    assert.ok(page.pincount > 0, "pinned at registration");
    const mkey = h.dev.mkeys.get(mr.lkey);
    assert.ok(mkey?.mtt);
    assert.equal(mttPfn(mkey.mtt.get(0)), pinnedPfn, "translated before any access");

    // The CPU drops its page and gets a fresh one; the device keeps the pinned frame.
    assert.equal(yield* doMadvise(mm, addr, PAGE_SIZE, MADV_DONTNEED), 0);
    const write = { key: mr.lkey, va: addr, buf: new Uint8Array([0xee]), write: true };
    assert.equal(yield* mlx5DeviceDma(h.dev, h.design, write), 0);
    assert.equal(mttPfn(mkey.mtt.get(0)), pinnedPfn);
    const cpu = yield* cpuRead(mm, addr, 1);
    assert.ok(cpu.ok);
    assert.equal(cpu.data[0], 0, "the CPU's new page does not see the device's write");
    assert.equal(page.kind === "free", false, "the pin keeps the frame alive");

    // fork: the device's view does not move either.
    const child = yield* forkProcess(h.proc);
    assert.ok(typeof child !== "number");
    assert.equal(mttPfn(mkey.mtt.get(0)), pinnedPfn);

    assert.equal(yield* ibvDeregMr(mr), 0);
    assert.equal(page.pincount, 0, "dereg unpins");
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});
