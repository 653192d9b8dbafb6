import assert from "node:assert/strict";
import { test } from "node:test";
import {
  counterOf,
  deriveFlows,
  deriveOperations,
  operationEdge,
} from "../../src/output/traceConventions.ts";
import type { TraceEntry, TraceFields } from "../../src/sim/trace.ts";

let step = 0;
function ev(label: string, fields?: TraceFields, task = 0): TraceEntry {
  return { step: step++, timeNs: 0, task, kind: "event", label, ...(fields ? { fields } : {}) };
}

test("labels ending in :begin / :end and ph fields mark operation edges", () => {
  assert.deepEqual(operationEdge(ev("page_fault:begin")), { edge: "begin", name: "page_fault" });
  assert.deepEqual(operationEdge(ev("page_fault:end")), { edge: "end", name: "page_fault" });
  assert.deepEqual(operationEdge(ev("dma_map", { ph: "B" })), { edge: "begin", name: "dma_map" });
  assert.deepEqual(operationEdge(ev("dma_map", { ph: "E" })), { edge: "end", name: "dma_map" });
  assert.equal(operationEdge(ev("dma_map")), null);
  assert.equal(operationEdge({ ...ev("x:begin"), kind: "step" }), null);
});

test("operations match per task and by name; reserved fields stay out of the arguments", () => {
  step = 0;
  const { operations, unmatchedEnds } = deriveOperations([
    ev("outer:begin", { va: 1, flow: "f", ph: "B" }),
    ev("outer:begin", {}, 1),
    ev("inner:begin"),
    ev("inner:end", { ret: 0 }),
    ev("outer:end"),
    ev("outer:end", {}, 1),
  ]);
  assert.deepEqual(unmatchedEnds, []);
  const summary = operations.map((o) => [o.task, o.name, o.beginStep, o.endStep, o.depth]);
  assert.deepEqual(summary, [
    [0, "outer", 0, 4, 0],
    [1, "outer", 1, 5, 0],
    [0, "inner", 2, 3, 1],
  ]);
  assert.deepEqual(operations[0]?.fields, { va: 1 });
  assert.deepEqual(operations[2]?.endFields, { ret: 0 });
});

test("an end that skips inner operations closes them; strays and leftovers are marked", () => {
  step = 0;
  const { operations, unmatchedEnds } = deriveOperations([
    ev("a:begin"),
    ev("b:begin"),
    ev("a:end"),
    ev("c:end"),
    ev("d:begin"),
    ev("later"),
  ]);
  assert.deepEqual(unmatchedEnds, [3]);
  const byName = new Map(operations.map((o) => [o.name, o]));
  assert.equal(byName.get("a")?.truncated, false);
  assert.equal(byName.get("b")?.truncated, true);
  assert.equal(byName.get("b")?.endStep, 2);
  assert.equal(byName.get("d")?.unfinished, true);
  assert.equal(byName.get("d")?.endStep, 5, "an unfinished operation lasts to the last step");
});

test("flows: start opens an instance, end closes it, ids may be reused, singletons drop", () => {
  step = 0;
  const entries = [
    ev("fault", { flow: "pf", flowPhase: "start" }),
    ev("inval", { flow: "pf" }, 1),
    ev("resume", { flow: "pf", flowPhase: "end" }),
    ev("fault", { flow: "pf", flowPhase: "start" }),
    ev("resume", { flow: "pf" }),
    ev("lonely", { flow: 9 }),
    ev("nothing", { flow: true }),
  ];
  const flows = deriveFlows(entries);
  assert.deepEqual(
    flows.map((f) => [f.id, f.key, f.points.map((p) => `${p.index}${p.phase}`).join(" ")]),
    [
      [1, "pf", "0s 1t 2f"],
      [2, "pf", "3s 4f"],
    ],
  );
});

test("counters need a name and a finite number", () => {
  assert.deepEqual(counterOf(ev("x", { counter: "faults", value: 2 })), {
    name: "faults",
    value: 2,
  });
  assert.equal(counterOf(ev("x", { counter: "faults", value: "2" })), null);
  assert.equal(counterOf(ev("x", { counter: "faults" })), null);
  assert.equal(counterOf(ev("x", { value: 2 })), null);
});
