/**
 * mlx5's MTT as a device page table (src/rdma/mlx5/mttMirror.ts): a UMR's entries reach
 * the device-translation oracle when the UMR completes, an invalidation's zap drops them
 * before the CPU frees the frame, a frame freed under a live entry is reported with the
 * entry and the frame's life, an implicit child's MTT counts only while its parent's KSM
 * slot leads to it, and a disabled key translates nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsInvalidate } from "../../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { explore } from "../../../src/check/explore.ts";
import type { DevicePageTable } from "../../../src/mm/devicePageTable.ts";
import { vmMunmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { ibvDeregMr, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { Mlx5IbMr } from "../../../src/rdma/mlx5/mlx5IbMr.ts";
import { mlx5SetImrMttSize } from "../../../src/rdma/mlx5/odp/implicitMr.ts";
import { mlx5IbUpdateKsmSlots } from "../../../src/rdma/mlx5/umr.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import {
  anonAt,
  childMr,
  childrenOf,
  devWrite,
  implicitHost,
  implicitMr,
  mmOf,
  ODP_RW,
  openPd,
  runOk,
} from "./implicitFixtures.ts";

const BASE = 0x7000_0000_0000;

test("an explicit MR's MTT is mirrored at the UMR's completion and dropped by the zap before the free", () => {
  for (const design of ["classic", "hmm-mirror", "interval"]) {
    const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design });
    h.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h);
      const va = yield* anonAt(h, BASE, 2);
      const mr = yield* ibvRegMr(pd, va, 2 * PAGE_SIZE, ODP_RW);
      assert.ok(mr instanceof Mlx5IbMr, design);
      assert.equal(yield* devWrite(h, mr.lkey, va + PAGE_SIZE, new Uint8Array([7])), 0);
      const cpu = walkPte(mmOf(h), va + PAGE_SIZE);
      const mirror = mr.mmkey.mirror;
      assert.ok(mirror !== null && cpu !== null, design);
      assert.equal(mirror.name, `mlx5_0 mkey ${mr.lkey}`);
      assert.equal(mirror.lookup(va + PAGE_SIZE)?.pfn, cpu.pte.pfn, design);
      assert.equal(mirror.lookup(va + PAGE_SIZE)?.write, true, design);
      assert.equal(mirror.entryId(va + PAGE_SIZE), `mkey:${mr.lkey}[1]`);
      yield* vmMunmap(mmOf(h), va, 2 * PAGE_SIZE);
      assert.equal(mirror.lookup(va + PAGE_SIZE), undefined, `${design}: zapped`);
      assert.equal(yield* ibvDeregMr(mr), 0);
      assert.equal(mr.mmkey.mirror, null, `${design}: a destroyed key mirrors nothing`);
    });
    runOk(h);
  }
});

test("a failed zap UMR: the frame freed under the live MTT entry is reported with the entry and the frame's life", () => {
  const r = explore(faultVsInvalidate, {
    strategy: "random",
    schedules: 300,
    design: "interval",
    faults: { sites: ["umr"] },
  });
  const v = r.firstFailure?.violation;
  assert.equal(v?.kind, "device_translation_outlives_frame");
  assert.match(v.message, /^mlx5_0 mkey \d+: pfn \d+ freed while the device still translates va/);
  const objects = v.details["objects"] as string[];
  assert.match(objects[0] ?? "", /^mkey:\d+\[\d+\]$/, "the MTT entry");
  assert.match(objects[1] ?? "", /^pfn\[\d+\]\.g\d+$/, "the frame's life");
});

test("an implicit child's MTT counts only while its parent's KSM slot leads to it", () => {
  const h = implicitHost("classic");
  mlx5SetImrMttSize(h.dev, 2 ** 21);
  h.proc.spawnThread("t", function* (): KGen {
    const pd = yield* openPd(h);
    const imr = yield* implicitMr(pd);
    const va = yield* anonAt(h, 5 * 2 ** 21, 1);
    assert.equal(yield* devWrite(h, imr.lkey, va, new Uint8Array([1])), 0);
    const [odp] = childrenOf(imr);
    assert.ok(odp);
    const child = childMr(odp).mmkey;
    const pfn = child.mirror?.lookup(va)?.pfn;
    assert.equal(pfn, walkPte(mmOf(h), va)?.pte.pfn, "reached through slot 5");
    yield* mlx5IbUpdateKsmSlots(imr, new Map([[5, null]]));
    assert.equal(child.mirror, null, "no slot leads to it: it translates nothing");
    yield* mlx5IbUpdateKsmSlots(imr, new Map([[5, child]]));
    const refilled = (child as { mirror: DevicePageTable | null }).mirror;
    assert.equal(refilled?.lookup(va)?.pfn, pfn, "pointed at again: refilled from the MTT");
    assert.equal(yield* ibvDeregMr(imr), 0);
    assert.equal(child.mirror, null, "dereg disabled the keys");
  });
  runOk(h);
});
