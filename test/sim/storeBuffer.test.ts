import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../src/sim/kernel.ts";
import { StoreBuffer } from "../../src/sim/storeBuffer.ts";
import type { KGen, TaskGroup } from "../../src/sim/task.ts";

const group: TaskGroup = { kind: "host", name: "test" };
const SEEDS = 200;

/**
 * A writer stores data then flag (with or without smp_wmb between) and drains; a reader
 * polls and records what it saw. Returns the set of (data, flag) pairs seen over the seeds.
 */
function observed(barrier: "none" | "wmb" | "release"): Set<string> {
  const seen = new Set<string>();
  for (let seed = 0; seed < SEEDS; seed++) {
    const k = new Kernel({ seed });
    const mem = { data: 0, flag: 0 };
    let done = false;
    k.spawn("writer", group, function* (): KGen {
      const sb = new StoreBuffer(k, "writer");
      sb.store("data", () => (mem.data = 1));
      if (barrier === "wmb") sb.smpWmb();
      if (barrier === "release") sb.storeRelease("flag", () => (mem.flag = 1));
      else sb.store("flag", () => (mem.flag = 1));
      yield* sb.drain();
      assert.deepEqual(mem, { data: 1, flag: 1 }, "drained: both visible");
      done = true;
    });
    k.spawn("reader", group, function* (): KGen {
      while (!done) {
        seen.add(`${mem.data}${mem.flag}`);
        yield "poll";
      }
    });
    const r = k.run();
    assert.equal(r.status, "ok", JSON.stringify(r.violations));
  }
  return seen;
}

test("store buffer: two plain stores become visible in either order", () => {
  const seen = observed("none");
  assert.ok(seen.has("01"), `flag seen before data: ${[...seen].join(" ")}`);
  assert.ok(seen.has("10"), `data seen before flag: ${[...seen].join(" ")}`);
});

test("store buffer: smp_wmb and smp_store_release order the store before ahead of the one after", () => {
  for (const barrier of ["wmb", "release"] as const) {
    const seen = observed(barrier);
    assert.ok(!seen.has("01"), `${barrier}: flag seen before data`);
    assert.ok(seen.has("10"), `${barrier}: the window between the stores is still there`);
  }
});
