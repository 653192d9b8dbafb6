/**
 * The findings *-zap-failure-keeps-translation (src/check/catalog/findings.ts): every
 * era's mlx5_ib_invalidate_range ignores mlx5_ib_update_xlt's error, so a zap whose UMR
 * fails leaves the MTT entry while the pages are unmapped and freed. Each design shows it
 * on examples/19-zap-umr-failure.yaml with UMR failures injected, names the failed zap in
 * the report, and is clean on the same scenario without them; the language fuzz's
 * program that first showed it (interval) still does.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { findingOf } from "../../../src/check/catalog/findings.ts";
import { explore } from "../../../src/check/explore.ts";
import { loadScenario } from "../../../src/scenario/compile.ts";
import { MLX5_ODP_DESIGN_NAMES } from "../../../src/rdma/mlx5/odp/designs.ts";

const EXAMPLE = "examples/19-zap-umr-failure.yaml";
const FUZZ_PROGRAM = "fuzz/findings/finding-interval-device_translation_outlives_frame-16.yaml";

for (const design of MLX5_ODP_DESIGN_NAMES) {
  test(`${design}: a failed zap UMR leaves the device a translation of a freed frame`, () => {
    const r = explore(loadScenario(EXAMPLE), {
      strategy: "random",
      schedules: 3000,
      design,
      defects: [],
    });
    const f = r.firstFailure;
    assert.ok(f !== null, `clean in ${r.schedulesRun} schedules`);
    assert.equal(f.violation.kind, "device_translation_outlives_frame", f.violation.message);
    assert.match(f.violation.message, /\(the zap UMR of MTT\[0\] failed\)$/);
    assert.equal(findingOf(design, f.violation)?.id, `${design}-zap-failure-keeps-translation`);
  });

  test(`${design}: the same scenario with no UMR failing is clean`, () => {
    const r = explore(loadScenario(EXAMPLE), {
      strategy: "random",
      schedules: 1000,
      design,
      defects: [],
      faults: { sites: [] },
    });
    assert.equal(r.firstFailure, null, r.firstFailure?.violation.message);
    assert.equal(r.schedulesRun, 1000);
  });
}

test("interval: the fuzz's shrunk program (a SIGKILL's exit_mmap zap) shows the finding", () => {
  const r = explore(loadScenario(FUZZ_PROGRAM), {
    strategy: "random",
    schedules: 3000,
    design: "interval",
    defects: [],
  });
  const f = r.firstFailure;
  assert.ok(f !== null, `clean in ${r.schedulesRun} schedules`);
  assert.equal(findingOf("interval", f.violation)?.id, "interval-zap-failure-keeps-translation");
});

test("a frame freed under a translation nobody failed to drop names no zap", () => {
  const zapped = { kind: "device_translation_outlives_frame", message: "mkey 3: pfn 1 freed" };
  for (const design of MLX5_ODP_DESIGN_NAMES) {
    assert.notEqual(findingOf(design, zapped)?.id, `${design}-zap-failure-keeps-translation`);
  }
});
