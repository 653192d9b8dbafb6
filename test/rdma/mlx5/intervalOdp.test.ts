import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost, setupOdpBuffer } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuWrite } from "../../../src/mm/access.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { EINVAL } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ODP_SUPPORT,
  IMPLICIT_ODP_LENGTH,
  NO_ODP_CAPS,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvDeregMr, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import { mttPfn } from "../../../src/rdma/mlx5/mkey.ts";
import { Mlx5IbMr } from "../../../src/rdma/mlx5/mlx5IbMr.ts";
import { mlx5SetImrMttSize } from "../../../src/rdma/mlx5/odp/intervalOdp.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";

function host() {
  return odpHost({ seed: 1, strategy: new FirstRunnable(), design: "interval" });
}

function mmOf(h: ReturnType<typeof host>): MmStruct {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("process exited");
  return mm;
}

const ODP_RW = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;

test("interval ODP: registration maps the pages the CPU already has; a device write moves bytes", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 4);
    const mkey = h.dev.mkeys.get(buf.mr.lkey);
    assert.ok(mkey?.mtt);
    assert.equal(mkey.mtt.count(), 4, "mlx5_ib_init_odp_mr snapshot maps present pages");
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
    assert.equal(yield* ibvDeregMr(buf.mr), 0);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
});

test("interval ODP: MADV_DONTNEED zaps, the next access faults the new frame in", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    const mkey = h.dev.mkeys.get(buf.mr.lkey);
    assert.ok(mkey?.mtt);
    const before = mttPfn(mkey.mtt.get(0));
    assert.equal(yield* doMadvise(mmOf(h), buf.addr, PAGE_SIZE, MADV_DONTNEED), 0);
    assert.equal(mkey.mtt.get(0), 0, "MTT entry zapped");
    const mr = h.dev.mrs.get(buf.mr.lkey);
    // The zap writes a whole aligned UMR block; the umem keeps page 1 mapped for DMA.
    assert.equal(mr?.umem?.pageList?.get(0), 0, "page 0 unmapped");
    assert.notEqual(mr.umem.pageList.get(1), 0, "page 1 still mapped");
    yield* cpuWrite(mmOf(h), buf.addr, new Uint8Array(4).fill(9));
    yield* mlx5DeviceDma(h.dev, h.design, {
      key: buf.mr.lkey,
      va: buf.addr,
      buf: new Uint8Array(4),
      write: false,
    });
    const cpu = walkPte(mmOf(h), buf.addr);
    assert.ok(cpu);
    assert.equal(mttPfn(mkey.mtt.get(0)), cpu.pte.pfn);
    assert.notEqual(before, -1);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
});

test("interval ODP: implicit MR creates 1 GiB children on demand, translates through the KSM, releases them", () => {
  const h = host();
  h.proc.spawnThread("t", function* (): KGen {
    const mm = mmOf(h);
    const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    const a = yield* vmMmap(
      mm,
      0,
      4 * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW);
    assert.ok(imr instanceof Mlx5IbMr);
    assert.equal(imr.children.size, 0);
    const data = new Uint8Array([7, 7, 7]);
    assert.equal(
      yield* mlx5DeviceDma(h.dev, h.design, { key: imr.lkey, va: a + 8, buf: data, write: true }),
      0,
    );
    assert.equal(imr.children.size, 1);
    const slot = Math.floor(a / 2 ** 30);
    const child = imr.children.get(slot);
    assert.ok(child);
    assert.equal(imr.mmkey.ksm?.get(slot), child.mmkey);
    const cpu = walkPte(mm, a);
    assert.ok(cpu);
    const back = new Uint8Array(3);
    h.phys.readBytes(cpu.pte.pfn, 8, back, 0, 3);
    assert.deepEqual([...back], [7, 7, 7]);
    assert.equal(yield* ibvDeregMr(imr), 0);
    assert.equal(child.freed, true);
    assert.equal(h.dev.mkeys.has(imr.lkey), false);
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
  const live = h.k.kasan.liveObjects().map((o) => o.objKind);
  assert.ok(
    !live.some((kind) => kind.startsWith("umem_odp") || kind === "mlx5_ib_mr"),
    live.join(","),
  );
});

test("interval ODP: implicit reg_mr needs the IMPLICIT cap; child size is configurable", () => {
  const caps = { generalCaps: IB_ODP_SUPPORT, perTransportCaps: NO_ODP_CAPS.perTransportCaps };
  const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design: "interval" }, 256, {
    odpCaps: caps,
  });
  const h2 = host();
  mlx5SetImrMttSize(h2.dev, 2 ** 21);
  assert.throws(() => {
    mlx5SetImrMttSize(h2.dev, 3 * 2 ** 20);
  }, RangeError);
  h.proc.spawnThread("t", function* (): KGen {
    const ctx = yield* ibvOpenDevice(h.dev, mmOf(h), h.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    assert.equal(yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW), EINVAL);
  });
  h2.proc.spawnThread("t", function* (): KGen {
    const mm = mmOf(h2);
    const ctx = yield* ibvOpenDevice(h2.dev, mm, h2.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    const a = yield* vmMmap(
      mm,
      0,
      2 ** 21 + PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW);
    assert.ok(imr instanceof Mlx5IbMr);
    for (const va of [a, a + 2 ** 21]) {
      const buf = new Uint8Array(4);
      assert.equal(
        yield* mlx5DeviceDma(h2.dev, h2.design, { key: imr.lkey, va, buf, write: true }),
        0,
      );
    }
    assert.equal(imr.children.size, 2, "two 2 MiB children");
    assert.equal(yield* ibvDeregMr(imr), 0);
  });
  for (const x of [h, h2]) {
    const r = x.k.run();
    assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
  }
});
