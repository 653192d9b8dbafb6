import assert from "node:assert/strict";
import { test } from "node:test";
import { KObject } from "../../src/sim/kasan.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../src/sim/task.ts";

const g = { kind: "host", name: "h" } as const;

class Mr extends KObject {
  constructor(k: Kernel) {
    super(k.kasan, "mr");
  }
}

test("kasan: touching a freed object names where it was allocated and freed", () => {
  const k = new Kernel({ strategy: new FirstRunnable() });
  let mr: Mr | null = null;
  k.spawn("reg_mr", g, function* (): KGen {
    yield;
    mr = new Mr(k);
  });
  k.spawn("dereg_mr", g, function* (): KGen {
    yield* k.sleep(10);
    if (mr !== null) k.kasan.free(mr);
  });
  k.spawn("fault", g, function* (): KGen {
    yield* k.sleep(20);
    if (mr !== null) k.kasan.check(mr, "pagefault_mr reads mr->live");
  });
  const r = k.run();
  const v = r.violations[0];
  assert.equal(v?.kind, "use_after_free");
  assert.equal(v.task, "fault#2");
  assert.deepEqual(v.details.allocated, { task: "reg_mr#0", step: 1 });
  assert.deepEqual(v.details.freed, { task: "dereg_mr#1", step: 4 });
  assert.match(v.message, /pagefault_mr reads mr->live touches mr#1/);
});

test("kasan: a double free is a violation; live objects are listed in allocation order", () => {
  const k = new Kernel({ stopOnViolation: false });
  k.spawn("t", g, function* (): KGen {
    const a = new Mr(k);
    const b = new Mr(k);
    assert.deepEqual(
      k.kasan.liveObjects("mr").map((o) => o.objName),
      ["mr#1", "mr#2"],
    );
    k.kasan.free(a);
    assert.equal(k.kasan.check(b, "read"), true);
    k.kasan.free(a);
    yield;
  });
  const r = k.run();
  assert.deepEqual(
    r.violations.map((v) => v.kind),
    ["double_free"],
  );
  assert.deepEqual(
    k.kasan.liveObjects().map((o) => o.objName),
    ["mr#2"],
  );
});
