import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IMPLICIT_ODP_LENGTH,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { isMlx5IbMr } from "../../../src/rdma/mlx5/mlx5IbMr.ts";
import { mlx5IbUpdateKsm } from "../../../src/rdma/mlx5/umr.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";

/** An interval-design implicit MR, then one INDIRECT update of slot 0, locked or not. */
function updateKsm(locked: boolean) {
  const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design: "interval" });
  const mm = h.proc.mm;
  assert.ok(mm);
  h.proc.spawnThread("t", function* (): KGen {
    const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
    assert.ok(typeof ctx !== "number");
    const pd = ibvAllocPd(ctx);
    assert.ok(typeof pd !== "number");
    const access = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;
    const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, access);
    assert.ok(isMlx5IbMr(imr) && imr.umem !== null);
    if (locked) yield* imr.umem.umemMutex.lock();
    assert.equal(yield* mlx5IbUpdateKsm(imr, 0, 1), 0);
    if (locked) imr.umem.umemMutex.unlock();
  });
  return h.k.run();
}

test("mlx5_ib_update_xlt(INDIRECT) asserts the parent's umem_mutex, as populate_klm does", () => {
  assert.deepEqual(
    updateKsm(true).violations.map((v) => v.kind),
    [],
  );
  assert.deepEqual(
    updateKsm(false).violations.map((v) => v.kind),
    ["lock_not_held"],
  );
});
