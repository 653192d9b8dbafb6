import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../../src/sim/kernel.ts";
import { Kref } from "../../../src/sim/sync/kref.ts";
import type { KGen } from "../../../src/sim/task.ts";

const g = { kind: "host", name: "h" } as const;

function inTask(body: (k: Kernel) => void): Kernel {
  const k = new Kernel({ stopOnViolation: false });
  k.spawn("t", g, function* (): KGen {
    body(k);
    yield;
  });
  k.run();
  return k;
}

test("kref: the last put releases, exactly once", () => {
  let released = 0;
  const k = inTask((k) => {
    const ref = new Kref(k, "mr");
    ref.get();
    assert.equal(
      ref.put(() => released++),
      false,
    );
    assert.equal(
      ref.put(() => released++),
      true,
    );
  });
  assert.equal(released, 1);
  assert.equal(k.violations.length, 0);
});

test("kref: get_unless_zero fails on a released object", () => {
  const k = inTask((k) => {
    const ref = new Kref(k, "mr");
    ref.put(() => undefined);
    assert.equal(ref.getUnlessZero(), false);
    assert.equal(ref.read(), 0);
  });
  assert.equal(k.violations.length, 0);
});

test("kref: a get after release and a put below zero are violations", () => {
  const k = inTask((k) => {
    const ref = new Kref(k, "child");
    ref.put(() => undefined);
    ref.get();
    ref.put(() => undefined);
  });
  assert.deepEqual(
    k.violations.map((v) => v.kind),
    ["refcount_use_after_release", "refcount_underflow"],
  );
});
