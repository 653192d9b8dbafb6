import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsInvalidate } from "../../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { odpHost, setupOdpBuffer } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { explore } from "../../../src/check/explore.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { ibvDeregMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import { mttPfn } from "../../../src/rdma/mlx5/mkey.ts";

function host() {
  return odpHost({ seed: 1, strategy: new FirstRunnable(), design: "hmm-mirror" });
}

function mmOf(h: ReturnType<typeof host>): MmStruct {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("process exited");
  return mm;
}

test("hmm-mirror ODP: a device write faults through hmm_range_dma_map and maps the CPU's frame", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 4);
    const mkey = h.dev.mkeys.get(buf.mr.lkey);
    assert.ok(mkey?.mtt);
    const va = buf.addr + 2 * PAGE_SIZE;
    const data = new Uint8Array([9, 8, 7]);
    assert.equal(
      yield* mlx5DeviceDma(h.dev, h.design, { key: buf.mr.lkey, va, buf: data, write: true }),
      0,
    );
    const cpu = walkPte(mmOf(h), va);
    assert.ok(cpu);
    assert.equal(mttPfn(mkey.mtt.get(2)), cpu.pte.pfn);
    // MADV_DONTNEED reaches the device through sync_cpu_device_pagetables.
    assert.equal(yield* doMadvise(mmOf(h), va, PAGE_SIZE, MADV_DONTNEED), 0);
    assert.equal(mkey.mtt.get(2), 0);
    assert.equal(yield* ibvDeregMr(buf.mr), 0);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});

test("hmm-mirror as posted: exploration finds its two known flaws; the classic interlock is clean on the same seeds", () => {
  // No defect switched on: this is the posted design.
  // 1. The -EAGAIN path reads `!implicit || odp->dying`, so a fault of an explicit MR
  //    raced by any invalidation fails -EFAULT and the QP dies on valid memory.
  // 2. An invalidation clears range->valid and zaps without taking umem_mutex (and end
  //    sets valid back), so a fault that passed hmm_range_valid() can publish a page the
  //    zap already cleared.
  const r = explore(faultVsInvalidate, {
    strategy: "random",
    schedules: 3000,
    design: "hmm-mirror",
    stopAtFirst: false,
  });
  const kinds = new Set<string>();
  for (const index of r.failingIndices) {
    const run = explore(faultVsInvalidate, {
      strategy: "random",
      schedules: 1,
      seed: index,
      design: "hmm-mirror",
    });
    if (run.firstFailure !== null) kinds.add(run.firstFailure.violation.kind);
    if (kinds.has("qp_error_on_valid_memory") && kinds.has("device_use_after_free")) break;
  }
  assert.ok(kinds.has("qp_error_on_valid_memory"), [...kinds].join(","));
  assert.ok(kinds.has("device_use_after_free"), [...kinds].join(","));
  const classic = explore(faultVsInvalidate, {
    strategy: "random",
    schedules: 3000,
    design: "classic",
  });
  assert.equal(classic.found, false);
});
