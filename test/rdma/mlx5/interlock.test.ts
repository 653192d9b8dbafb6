/**
 * The classic interlock rejecting a raced mapping, shown on the exact interleaving that
 * breaks the design without it: the explorer finds a schedule where, with seed 001's
 * retry check removed, the device ends up translating a page the CPU frees; replaying that same
 * schedule with the check in place, the fault handler sees the racing invalidation,
 * returns -EAGAIN (the device re-faults) and nothing goes stale.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsInvalidate } from "../../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { withEra } from "../../../src/check/catalog/catalog.ts";
import { explore } from "../../../src/check/explore.ts";
import { runScenario } from "../../../src/check/scenario.ts";
import { EAGAIN } from "../../../src/sim/errno.ts";
import { ReplaySchedule } from "../../../src/sim/strategies/replay.ts";

test("classic: on the schedule that breaks the unchecked design, the interlock returns -EAGAIN instead", () => {
  const broken = explore(faultVsInvalidate, {
    strategy: "random",
    schedules: 2000,
    design: "classic",
    defects: withEra(["classic-no-retry-check"]),
  });
  const failure = broken.firstFailure;
  assert.ok(failure, "the explorer did not find the race");
  assert.equal(failure.violation.kind, "device_translation_outlives_frame");

  const fixed = runScenario(faultVsInvalidate, {
    seed: failure.seed,
    strategy: new ReplaySchedule(failure.schedule),
    timing: failure.timing,
    trace: true,
    design: "classic",
    // The same era (split umem_mutex holds), with seed 001's check in place.
    defects: withEra(["classic-no-retry-check"]).filter((d) => d !== "classic-no-retry-check"),
  });
  assert.deepEqual(fixed.violations, []);
  const retries = (fixed.result.trace?.entries ?? []).filter(
    (e) => e.label === "page_fault_resume" && e.fields?.ret === EAGAIN,
  );
  assert.ok(retries.length > 0, "no fault was turned back with -EAGAIN");
});
