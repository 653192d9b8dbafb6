import assert from "node:assert/strict";
import { test } from "node:test";
import { KObject } from "../../../../src/sim/kasan.ts";
import { Kernel } from "../../../../src/sim/kernel.ts";
import { FirstRunnable } from "../../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../../src/sim/task.ts";
import {
  Mlx5QpTable,
  createResourceCommon,
  destroyResourceCommon,
  mlx5CoreResHold,
  mlx5CoreResPut,
  mlx5RscEvent,
} from "../../../../src/rdma/mlx5/qp/qpTable.ts";

const g = { kind: "device", name: "mlx5_0" } as const;

test("qp table: destroy_resource_common waits until a holder puts the QP", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const table = new Mlx5QpTable(k, "mlx5_0");
  const qp = new KObject(k.kasan, "ib_qp");
  let destroyedAt = -1;
  let putAt = -1;
  k.spawn("setup", g, function* (): KGen {
    const rsc = yield* createResourceCommon(table, 7, qp);
    k.spawn("worker", g, function* (): KGen {
      const held = yield* mlx5CoreResHold(table, 7);
      assert.ok(held === rsc);
      yield* k.sleep(5000);
      putAt = k.clock.now();
      mlx5CoreResPut(rsc);
    });
    k.spawn("destroy", g, function* (): KGen {
      yield* k.sleep(1000);
      yield* destroyResourceCommon(table, rsc);
      destroyedAt = k.clock.now();
      assert.equal(yield* mlx5CoreResHold(table, 7), null, "no longer findable");
    });
  });
  assert.deepEqual(k.run().violations, []);
  assert.equal(putAt, 5000);
  assert.equal(destroyedAt, 5000, "destroy returned only at the worker's put");
});

test("qp table: an async event is delivered to a live QP in hard IRQ context, and dropped for an unknown one", () => {
  const k = new Kernel({ strategy: new FirstRunnable(), trace: true });
  const table = new Mlx5QpTable(k, "mlx5_0");
  const qp = new KObject(k.kasan, "ib_qp");
  const seen: string[] = [];
  let inIrq = false;
  k.spawn("irq", g, function* (): KGen {
    const rsc = yield* createResourceCommon(table, 3, qp);
    yield* mlx5RscEvent(table, 3, (q) => {
      inIrq = k.currentTask().inHardirq;
      seen.push(q.objName);
    });
    yield* mlx5RscEvent(table, 4, (q) => seen.push(q.objName));
    assert.equal(rsc.refcount, 1, "the event's hold was put");
    assert.equal(k.currentTask().inHardirq, false);
  });
  const r = k.run();
  assert.deepEqual(r.violations, []);
  assert.deepEqual(seen, [qp.objName]);
  assert.equal(inIrq, true);
  assert.ok(k.trace?.entries.some((e) => e.label === "mlx5_core_warn") === true);
});
