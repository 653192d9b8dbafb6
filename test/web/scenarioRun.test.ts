/**
 * The viewer on a scenario file's run: explore finds the race of
 * examples/10-catalog-no-retry-check.yaml, and the run file odpsim writes for it opens in
 * Debian's chromium at the violation on the race window, with the address space and the
 * MR device view filled from the scenario's own processes and NIC (fixtures/raceView.ts).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertChromium } from "./fixtures/chromium.ts";
import { checkRaceView, withViewer } from "./fixtures/raceView.ts";
import { withEra } from "../../src/check/catalog/catalog.ts";
import { explore } from "../../src/check/explore.ts";
import { failureArtifacts } from "../../src/cli/failureArtifacts.ts";
import { parseRunFileText } from "../../src/output/runFileSchema.ts";
import { loadScenario } from "../../src/scenario/compile.ts";
import { effectiveConfig } from "../../src/scenario/runOnce.ts";

const FILE = fileURLToPath(
  new URL("../../examples/10-catalog-no-retry-check.yaml", import.meta.url),
);

test(
  "a scenario file's run opens on the race, its address space and MR shown at the violation",
  { timeout: 120_000 },
  async () => {
    assertChromium();
    const scenario = loadScenario(FILE);
    const config = effectiveConfig(scenario, undefined, undefined);
    const design = config.design;
    const defects = withEra(config.defects);
    const found = explore(scenario, { strategy: "random", schedules: 2000, design, defects });
    const failure = found.firstFailure;
    assert.ok(failure, "the explorer did not find the race");
    const scratch = await mkdtemp(join(tmpdir(), "odpsim-scenario-view-"));
    try {
      const art = failureArtifacts(
        {
          scenario,
          seed: failure.seed,
          timing: failure.timing,
          schedule: failure.schedule,
          strategy: "random",
          design,
          defects,
        },
        join(scratch, "out"),
      );
      assert.ok(art.runFileJson);
      const run = parseRunFileText(art.runFileJson);
      assert.ok(run.snapshots.length > 0, "a scenario-file run has snapshots");
      await withViewer(art.runFileJson, async (page) => {
        await checkRaceView(page, run, "scenario-run.png");
        assert.match(
          (await page.getByTestId("meta").textContent()) ?? "",
          /catalog-no-retry-check/,
        );
        assert.doesNotMatch(
          (await page.getByTestId("device-view").textContent()) ?? "",
          /No snapshot/,
        );
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
);
