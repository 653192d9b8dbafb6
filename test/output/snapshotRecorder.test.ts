import assert from "node:assert/strict";
import { test } from "node:test";
import { SnapshotRecorder, type SnapshotState } from "../../src/output/snapshotRecorder.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../src/sim/task.ts";

/** A source whose one process's name says how many times it was sampled. */
function counting(): { source: { snapshot(): SnapshotState }; value: { n: number } } {
  const value = { n: 0 };
  return {
    value,
    source: {
      snapshot: () => ({
        processes: [{ pid: 1, name: `v${value.n}`, vmas: [], pages: [] }],
        mrs: [],
      }),
    },
  };
}

test("samples at the chosen events and at violations, keeping the last sample of a step", () => {
  const k = new Kernel({ trace: true, strategy: new FirstRunnable() });
  const { source, value } = counting();
  const recorder = new SnapshotRecorder(source, ["mapped"]);
  assert.ok(k.trace);
  recorder.attach(k.trace);
  k.spawn("t", { kind: "device", name: "nic" }, function* (): KGen {
    value.n = 1;
    k.event("mapped");
    value.n = 2;
    k.event("mapped");
    yield "a";
    value.n = 3;
    k.event("ignored");
    yield "b";
    value.n = 4;
    k.report("warn_on", "oops");
  });
  k.run();
  assert.deepEqual(
    recorder.snapshots.map((s) => [s.step, s.processes[0]?.name]),
    [
      [0, "v2"],
      [2, "v4"],
    ],
  );
  assert.equal(k.trace.entries.length, 7, "attaching does not change what the trace records");
});

test("detaching stops the sampling", () => {
  const k = new Kernel({ trace: true });
  const recorder = new SnapshotRecorder(counting().source, ["e"]);
  assert.ok(k.trace);
  const detach = recorder.attach(k.trace);
  k.spawn("t", { kind: "device", name: "nic" }, function* (): KGen {
    k.event("e");
    yield "a";
    detach();
    k.event("e");
  });
  k.run();
  assert.deepEqual(
    recorder.snapshots.map((s) => s.step),
    [0],
  );
  assert.equal(k.trace.entries.filter((e) => e.label === "e").length, 2);
});
