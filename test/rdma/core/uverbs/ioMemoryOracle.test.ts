import assert from "node:assert/strict";
import { test } from "node:test";
import { forkProcess } from "../../../../src/mm/process.ts";
import type { KGen } from "../../../../src/sim/task.ts";
import { mmOf, mmapObject, openDevice } from "../../../../src/check/catalog/uverbs/uverbsHost.ts";
import { host, read1, runProcess } from "./fixture.ts";

test("oracle: releasing the BAR while a tracked VMA maps it is io_released_while_mapped", () => {
  const h = host();
  const { violations } = runProcess(h, function* (p): KGen {
    const fd = yield* openDevice(h, p);
    yield* mmapObject(mmOf(p), fd);
    h.driver.pciRemove(); // no ib_uverbs_remove_one first
  });
  assert.deepEqual(
    violations.map((v) => v.kind),
    ["io_released_while_mapped"],
  );
});

test("oracle: a load from a released BAR is cpu_access_removed_io", () => {
  const h = host({ design: "seed" });
  const { violations } = runProcess(h, function* (p): KGen {
    const fd = yield* openDevice(h, p);
    const a = yield* mmapObject(mmOf(p), fd);
    h.driver.bar.released = true; // behind everyone's back: no release hook, no zap
    yield* read1(mmOf(p), a);
  });
  assert.deepEqual(
    violations.map((v) => v.kind),
    ["cpu_access_removed_io"],
  );
});

test("oracle: a touch through an untracked copy of a device mapping is untracked_io_vma", () => {
  const h = host({ defects: ["uverbs-fork-untracked"] });
  const { violations } = runProcess(h, function* (p): KGen {
    const fd = yield* openDevice(h, p);
    const a = yield* mmapObject(mmOf(p), fd);
    assert.equal(yield* read1(mmOf(p), a), 0, "the parent's own VMA is tracked");
    const child = yield* forkProcess(p);
    assert.ok(typeof child !== "number");
    h.oracle.watchProcess(child);
    child.spawnThread("child", function* (): KGen {
      yield* read1(mmOf(child), a);
    });
  });
  assert.deepEqual(
    violations.map((v) => v.kind),
    ["untracked_io_vma"],
  );
});
