/**
 * Deriving fault/invalidation races from a trace: a race needs the same mm, overlapping
 * address ranges and overlapping lifetimes; anything less is no race.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveFaultRaces } from "../../src/output/faultRaces.ts";
import type { TraceEntry, TraceFields } from "../../src/sim/trace.ts";

const PAGE = 4096;
const VA = 0x7f00_0000_0000;

function ev(step: number, task: number, label: string, fields: TraceFields): TraceEntry {
  return { step, timeNs: step * 10, task, kind: "event", label, fields };
}

const fault = (step: number, flow: number, mm = "pid100", va = VA): TraceEntry =>
  ev(step, 0, "page_fault", { key: 7, va, bcnt: 16, write: true, mm, flow, flowPhase: "start" });
const resume = (step: number, flow: number): TraceEntry =>
  ev(step, 2, "page_fault_resume", { key: 7, va: VA, ret: 0, flow, flowPhase: "end" });
const invStart = (step: number, mm = "pid100", start = VA, end = VA + PAGE): TraceEntry =>
  ev(step, 1, "invalidate_range_start", { mm, start, end, event: "unmap" });
const invEnd = (step: number, mm = "pid100"): TraceEntry =>
  ev(step, 1, "invalidate_range_end", { mm, start: VA, end: VA + PAGE });

test("an invalidation of the fault's range during the fault races it", () => {
  const races = deriveFaultRaces([fault(0, 1), invStart(1), invEnd(2), resume(3, 1)]);
  assert.deepEqual(races, [{ faultFlow: "1", faultIndex: 0, invalidationIndex: 1 }]);
});

test("an invalidation that began before the fault and ended during it races it too", () => {
  const races = deriveFaultRaces([invStart(0), fault(1, 1), invEnd(2), resume(3, 1)]);
  assert.deepEqual(races, [{ faultFlow: "1", faultIndex: 1, invalidationIndex: 0 }]);
});

test("an invalidation of another mm, another range, or another time is no race", () => {
  assert.deepEqual(
    deriveFaultRaces([fault(0, 1), invStart(1, "pid101"), invEnd(2, "pid101"), resume(3, 1)]),
    [],
  );
  const away = invStart(1, "pid100", VA + PAGE, VA + 2 * PAGE);
  assert.deepEqual(deriveFaultRaces([fault(0, 1), away, invEnd(2), resume(3, 1)]), []);
  assert.deepEqual(deriveFaultRaces([invStart(0), invEnd(1), fault(2, 1), resume(3, 1)]), []);
  assert.deepEqual(deriveFaultRaces([fault(0, 1), resume(1, 1), invStart(2), invEnd(3)]), []);
});

test("a fault never resumed and an invalidation never ended last to the end of the trace", () => {
  assert.equal(deriveFaultRaces([fault(0, 1), invStart(5)]).length, 1);
  assert.equal(deriveFaultRaces([invStart(0), fault(5, 1)]).length, 1);
});

test("each fault is matched separately: the flow id may be reused after a resume", () => {
  const races = deriveFaultRaces([
    fault(0, 1),
    resume(1, 1),
    fault(2, 1),
    invStart(3),
    invEnd(4),
    resume(5, 1),
  ]);
  assert.deepEqual(races, [{ faultFlow: "1", faultIndex: 2, invalidationIndex: 3 }]);
});
