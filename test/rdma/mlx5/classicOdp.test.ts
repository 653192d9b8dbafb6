import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost, setupOdpBuffer } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { EINVAL } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvDeregMr, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import { mttPfn } from "../../../src/rdma/mlx5/mkey.ts";

function host() {
  return odpHost({ seed: 1, strategy: new FirstRunnable(), design: "classic" });
}

function mmOf(h: ReturnType<typeof host>): MmStruct {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("process exited");
  return mm;
}

test("classic ODP: a device write faults the page in, maps the CPU's frame and moves the bytes", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 4);
    const mkey = h.dev.mkeys.get(buf.mr.lkey);
    assert.ok(mkey?.mtt);
    assert.equal(mkey.mtt.count(), 0, "nothing mapped before the first access");
    const data = new Uint8Array([1, 2, 3, 4]);
    const va = buf.addr + PAGE_SIZE + 8;
    assert.equal(
      yield* mlx5DeviceDma(h.dev, h.design, { key: buf.mr.lkey, va, buf: data, write: true }),
      0,
    );
    const cpu = walkPte(mmOf(h), va);
    assert.ok(cpu);
    assert.equal(mttPfn(mkey.mtt.get(1)), cpu.pte.pfn);
    const back = new Uint8Array(4);
    h.phys.readBytes(cpu.pte.pfn, 8, back, 0, 4);
    assert.deepEqual([...back], [1, 2, 3, 4]);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});

test("classic ODP: MADV_DONTNEED zaps the device's translation and unmaps the page", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    const mkey = h.dev.mkeys.get(buf.mr.lkey);
    yield* mlx5DeviceDma(h.dev, h.design, {
      key: buf.mr.lkey,
      va: buf.addr,
      buf: new Uint8Array(8),
      write: true,
    });
    assert.ok(mkey?.mtt);
    assert.notEqual(mkey.mtt.get(0), 0);
    assert.equal(yield* doMadvise(mmOf(h), buf.addr, PAGE_SIZE, MADV_DONTNEED), 0);
    assert.equal(mkey.mtt.get(0), 0, "MTT entry zapped");
    // The next device access faults again and maps whatever the CPU maps now.
    yield* mlx5DeviceDma(h.dev, h.design, {
      key: buf.mr.lkey,
      va: buf.addr,
      buf: new Uint8Array(8),
      write: false,
    });
    assert.notEqual(mkey.mtt.get(0), 0);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});

test("classic ODP: dereg_mr unmaps everything and frees the MR, umem and per_mm", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    yield* mlx5DeviceDma(h.dev, h.design, {
      key: buf.mr.lkey,
      va: buf.addr,
      buf: new Uint8Array(8),
      write: true,
    });
    assert.equal(yield* ibvDeregMr(buf.mr), 0);
    assert.equal(h.dev.mkeys.has(buf.mr.lkey), false);
    assert.equal(buf.mr.freed, true);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
  const live = h.k.kasan.liveObjects().map((o) => o.objKind);
  assert.ok(
    !live.some((kind) => kind.startsWith("umem_odp") || kind === "ib_ucontext_per_mm"),
    live.join(","),
  );
});

test("reg_mr argument errors are the kernel's", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 1);
    const odp = IB_ACCESS_ON_DEMAND;
    // Remote write without local write: ib_check_mr_access.
    assert.equal(
      yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, odp | IB_ACCESS_REMOTE_WRITE),
      EINVAL,
    );
    // Zero length, and IB_ACCESS_HUGETLB over a VMA that is not hugetlb.
    assert.equal(yield* ibvRegMr(buf.pd, buf.addr, 0, odp), EINVAL);
    assert.equal(yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, odp | IB_ACCESS_HUGETLB), EINVAL);
    // HUGETLB without ODP is refused; a pinned MR (src/rdma/mlx5/pinnedMr.ts) is not.
    assert.equal(yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, IB_ACCESS_HUGETLB), EINVAL);
    const pinned = yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, 0);
    assert.ok(typeof pinned !== "number", "pinned reg_mr failed");
    assert.equal(yield* ibvDeregMr(pinned), 0);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
});
