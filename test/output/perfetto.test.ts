import assert from "node:assert/strict";
import { test } from "node:test";
import {
  serializeChromeTrace,
  toChromeTrace,
  type ChromeTrace,
  type TraceEvent,
} from "../../src/output/perfetto.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import type { KGen } from "../../src/sim/task.ts";
import { raceScenario } from "../sim/fixtures/raceScenario.ts";
import { checkChromeTrace, checkNesting } from "./fixtures/chromeTraceChecks.ts";
import { staleRace } from "./fixtures/staleRace.ts";

function exportStaleRace(timeMode?: "combined" | "step"): ChromeTrace {
  const { run } = staleRace();
  return toChromeTrace(run, run.violations, timeMode === undefined ? {} : { timeMode });
}

function named(doc: ChromeTrace, ph: string, name: string): TraceEvent[] {
  return doc.traceEvents.filter((e) => e.ph === ph && e.name === name);
}

test("the export is valid JSON and survives a round trip", () => {
  const doc = exportStaleRace();
  const text = serializeChromeTrace(doc);
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(doc)));
  assert.ok(text.endsWith("}\n"));
});

test("every event has its required fields, tracks are named, slices nest, flows match", () => {
  for (const mode of ["combined", "step"] as const) {
    const flows = checkChromeTrace(exportStaleRace(mode));
    assert.equal(flows, 1, `one flow (fault -> invalidation -> QP resume) in ${mode} mode`);
  }
});

test("a process per task group, hosts then processes then devices, a thread per task", () => {
  const doc = exportStaleRace();
  const processes = named(doc, "M", "process_name").map((e) => (e.args as { name: string }).name);
  assert.deepEqual(processes, ["host host0", "process host0/pid 100", "device host0/mlx5_0"]);
  const threads = named(doc, "M", "thread_name").map((e) => (e.args as { name: string }).name);
  assert.deepEqual(threads, ["mlx5_pf#0", "app#1", "kworker/0:1#2"]);
  assert.equal(named(doc, "M", "process_sort_index").length, 3);
});

test("every step is a slice, and begin/end events become enclosing operation slices", () => {
  const { run } = staleRace();
  const doc = toChromeTrace(run, run.violations);
  const steps = doc.traceEvents.filter((e) => e.ph === "X" && e.cat === "step");
  assert.equal(steps.length, run.meta.steps);
  const fault = named(doc, "X", "page_fault");
  assert.equal(fault.length, 1);
  const op = fault[0] as TraceEvent;
  assert.equal(op.cat, "op");
  assert.deepEqual(
    { begin: op.args?.beginStep, end: op.args?.endStep, va: op.args?.va },
    { begin: 0, end: 10, va: run.entries[0]?.fields?.va },
  );
  const faultSteps = steps.filter((s) => s.tid === op.tid);
  for (const s of faultSteps) {
    const inside =
      (s.ts ?? 0) >= (op.ts ?? 0) &&
      (s.ts ?? 0) + (s.dur ?? 0) <= (op.ts ?? 0) + (op.dur ?? 0) + 1e-9;
    assert.ok(inside, `step slice ${JSON.stringify(s)} lies in the page_fault operation`);
  }
  assert.equal(named(doc, "X", "munmap").length, 1);
  assert.equal(
    named(doc, "i", "munmap:begin").length,
    0,
    "an operation edge is not also an instant",
  );
});

test("the violation is an instant with its message and details", () => {
  const { run } = staleRace();
  const doc = toChromeTrace(run, run.violations);
  const marks = doc.traceEvents.filter((e) => e.cat === "violation");
  assert.equal(marks.length, 1);
  const mark = marks[0] as TraceEvent;
  assert.equal(mark.ph, "i");
  assert.equal(mark.name, "violation: stale_device_translation");
  assert.match(String(mark.args?.message), /mr0 maps pfn 0x42/);
  assert.deepEqual(mark.args?.details, run.violations[0]?.details);
});

test("counters come from events with a counter name and a numeric value", () => {
  const doc = exportStaleRace();
  const inFlight = named(doc, "C", "faults_in_flight").map((e) => e.args?.value);
  assert.deepEqual(inFlight, [1, 0]);
  assert.deepEqual(
    named(doc, "C", "mr0_pages_mapped").map((e) => e.args?.value),
    [1],
  );
});

test("combined time keeps virtual time and gives equal-time entries distinct increasing ts", () => {
  const doc = exportStaleRace("combined");
  const steps = doc.traceEvents.filter((e) => e.ph === "X" && e.cat === "step");
  const byStep = [...steps].sort((a, b) => Number(a.args?.step) - Number(b.args?.step));
  for (let i = 1; i < byStep.length; i++) {
    const prev = byStep[i - 1] as TraceEvent;
    const cur = byStep[i] as TraceEvent;
    assert.ok((cur.ts ?? 0) >= (prev.ts ?? 0) + (prev.dur ?? 0) - 1e-9, "steps in order, disjoint");
    assert.ok((cur.ts ?? 0) > (prev.ts ?? 0));
    // ts never runs behind virtual time, and here stays within 0.1 us of it.
    const virtualUs = Number(cur.args?.timeNs) / 1000;
    assert.ok((cur.ts ?? 0) + 0.001 >= virtualUs && (cur.ts ?? 0) - virtualUs < 0.1);
  }
});

test("step time puts step N at N microseconds", () => {
  const doc = exportStaleRace("step");
  for (const s of doc.traceEvents.filter((e) => e.ph === "X" && e.cat === "step")) {
    assert.equal(Math.floor(s.ts ?? -1), s.args?.step);
    assert.ok((s.ts ?? 0) + (s.dur ?? 0) <= Number(s.args?.step) + 1);
  }
});

test("random interleavings of a richer run all export to well-formed traces", () => {
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    const result = raceScenario({ seed }).run();
    assert.ok(result.trace);
    for (const mode of ["combined", "step"] as const) {
      checkChromeTrace(toChromeTrace(result.trace, result.violations, { timeMode: mode }));
    }
  }
});

test("events outside any task go to a named scheduler track", () => {
  const k = new Kernel({ trace: true });
  k.spawn("stuck", { kind: "process", name: "p" }, function* (): KGen {
    k.block({ describe: () => "nothing" });
    yield "wait";
  });
  const result = k.run();
  assert.equal(result.violations[0]?.kind, "deadlock");
  assert.ok(result.trace);
  const doc = toChromeTrace(result.trace, result.violations);
  checkChromeTrace(doc);
  const mark = doc.traceEvents.find((e) => e.cat === "violation");
  assert.ok(mark);
  const processName = doc.traceEvents.find((e) => e.name === "process_name" && e.pid === mark.pid);
  assert.equal((processName?.args as { name: string }).name, "odpsim scheduler");
});

test("the nesting check fails on overlapping slices of one track", () => {
  const bad: ChromeTrace = {
    displayTimeUnit: "ns",
    otherData: {},
    traceEvents: [
      { ph: "X", name: "a", pid: 1, tid: 1, ts: 0, dur: 2 },
      { ph: "X", name: "b", pid: 1, tid: 1, ts: 1, dur: 2 },
    ],
  };
  assert.throws(() => {
    checkNesting(bad);
  }, /overlaps/);
});
