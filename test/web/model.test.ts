import assert from "node:assert/strict";
import { test } from "node:test";
import type { Snapshot } from "../../src/output/runFile.ts";
import {
  entriesAt,
  hex,
  laneGroups,
  lastStep,
  pageSlot,
  snapshotAt,
  stepAtX,
  stepEntries,
  xOfStep,
} from "../../web/src/model.ts";
import { staleRace } from "../output/fixtures/staleRace.ts";

test("lanes are grouped hosts, then processes, then devices", () => {
  const { run } = staleRace();
  assert.deepEqual(
    laneGroups(run.tasks).map((g) => [g.kind, g.name, g.tasks.map((t) => t.name)]),
    [
      ["host", "host0", ["kworker/0:1"]],
      ["process", "host0/pid 100", ["app"]],
      ["device", "host0/mlx5_0", ["mlx5_pf"]],
    ],
  );
});

test("the snapshot under the cursor is the latest at or before its step", () => {
  const snap = (step: number): Snapshot => ({ step, processes: [], mrs: [] });
  const snaps = [snap(2), snap(5), snap(9)];
  assert.equal(snapshotAt(snaps, 0), null);
  assert.equal(snapshotAt(snaps, 2)?.step, 2);
  assert.equal(snapshotAt(snaps, 8)?.step, 5);
  assert.equal(snapshotAt(snaps, 100)?.step, 9);
  assert.equal(snapshotAt([], 3), null);
});

test("pixels map to steps and back, clamped to the run", () => {
  assert.equal(stepAtX(0, 100, 10), 0);
  assert.equal(stepAtX(55, 100, 10), 5);
  assert.equal(stepAtX(-3, 100, 10), 0);
  assert.equal(stepAtX(500, 100, 10), 9);
  assert.equal(stepAtX(5, 0, 10), 0);
  assert.equal(stepAtX(xOfStep(7, 640, 13) + 1, 640, 13), 7);
});

test("the cursor reaches the last step, or a violation found after it", () => {
  const { run } = staleRace();
  assert.equal(lastStep(run), 10);
  const later = {
    ...run,
    violations: [{ ...run.violations[0], step: 11 } as (typeof run.violations)[0]],
  };
  assert.equal(lastStep(later), 11);
});

test("step entries, entries at a step, pages slots, hex", () => {
  const { run } = staleRace();
  const byStep = stepEntries(run.entries);
  assert.equal(byStep.length, run.meta.steps);
  assert.equal(byStep[2]?.label, "mmap_write_lock");
  assert.deepEqual(
    entriesAt(run.entries, 10).map((e) => e.label),
    ["page_fault:end", "faults", "qp_resume", "violation", "exit"],
  );
  assert.equal(pageSlot(0x1000, 0x5000, 0x3000, 16), 2);
  assert.equal(pageSlot(0, 0x1000 * 17, 0x3000, 16), -1);
  assert.equal(hex(0x42), "0x42");
  assert.equal(hex(null), "—");
});
