import assert from "node:assert/strict";
import { test } from "node:test";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { MmuNotifier, mmuNotifierRegister } from "../../../src/mm/notifier/mmuNotifier.ts";
import type { MmuNotifierOps } from "../../../src/mm/notifier/mmuNotifier.ts";
import { setPairEndsOnFailedStart } from "../../../src/mm/notifier/srcu.ts";
import { EAGAIN } from "../../../src/sim/errno.ts";
import type { Kernel } from "../../../src/sim/kernel.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { g, invalidate, runOk, setup } from "./fixture.ts";

/** A subscriber with start and end that always starts, logging both. */
function pairedOps(log: string[]): MmuNotifierOps {
  return {
    name: "A",
    *invalidateRangeStart() {
      log.push("A:start");
      return 0;
    },
    *invalidateRangeEnd() {
      log.push("A:end");
    },
  };
}

/** A subscriber that refuses every non-blockable range. */
function refusingOps(log: string[], withEnd: boolean): MmuNotifierOps {
  const ops: MmuNotifierOps = {
    name: "B",
    *invalidateRangeStart(_sub, range) {
      log.push(range.blockable ? "B:start" : "B:refuse");
      return range.blockable ? 0 : EAGAIN;
    },
  };
  if (!withEnd) return ops;
  return {
    ...ops,
    *invalidateRangeEnd() {
      log.push("B:end");
    },
  };
}

/** One non-blockable invalidation with A and B on the mm (B registered last: walked first). */
function refusedInvalidation(k: Kernel, mm: MmStruct, log: string[]): void {
  k.spawn("oom_reaper", g, function* (): KGen {
    yield* mmuNotifierRegister(new MmuNotifier(pairedOps(log)), mm);
    yield* mmuNotifierRegister(new MmuNotifier(refusingOps(log, false)), mm);
    assert.equal(yield* invalidate(mm, 0, 0x1000, { blockable: false }), EAGAIN);
  });
}

test("after a refusal the walk goes on: later subscribers start, and are ended", () => {
  const { k, mm } = setup({ seed: 1 });
  const log: string[] = [];
  refusedInvalidation(k, mm, log);
  runOk(k);
  assert.deepEqual(log, ["B:refuse", "A:start", "A:end"]);
});

test("under defect mmu-notifier-unpaired-end a started subscriber gets no end", () => {
  const { k, mm } = setup({ seed: 2, defects: ["mmu-notifier-unpaired-end"] });
  const log: string[] = [];
  refusedInvalidation(k, mm, log);
  runOk(k);
  assert.deepEqual(log, ["B:refuse", "A:start"]);
});

test("a kernel before the fix (pairing off) does not end them either", () => {
  const { k, mm } = setup({ seed: 3 });
  setPairEndsOnFailedStart(k, false);
  const log: string[] = [];
  refusedInvalidation(k, mm, log);
  runOk(k);
  assert.deepEqual(log, ["B:refuse", "A:start"]);
});

test("the pairing ends every subscriber with an end, the one that refused included", () => {
  // The fix cannot tell which start failed; it forbids an end to a subscriber that may
  // refuse instead, so a refusing subscriber with an end is ended anyway.
  const { k, mm } = setup({ seed: 4 });
  const log: string[] = [];
  k.spawn("oom_reaper", g, function* (): KGen {
    yield* mmuNotifierRegister(new MmuNotifier(refusingOps(log, true)), mm);
    yield* mmuNotifierRegister(new MmuNotifier(pairedOps(log)), mm);
    assert.equal(yield* invalidate(mm, 0, 0x1000, { blockable: false }), EAGAIN);
  });
  runOk(k);
  assert.deepEqual(log, ["A:start", "B:refuse", "A:end", "B:end"]);
});
