/**
 * The viewer on a real catalog defect: the explorer finds classic-no-retry-check in the
 * fault-vs-invalidate scenario, the failure is shrunk and replayed with snapshots, and
 * Debian's chromium (driven by playwright-core) opens the run at the violation on the
 * race window (fixtures/raceView.ts), with the stale device translation shown there and
 * none before the race.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assertChromium } from "./fixtures/chromium.ts";
import { checkRaceView, withViewer } from "./fixtures/raceView.ts";
import { catalogEntry, entryDefects } from "../../src/check/catalog/catalog.ts";
import { explore } from "../../src/check/explore.ts";
import { failureArtifacts } from "../../src/cli/failureArtifacts.ts";
import { parseRunFileText } from "../../src/output/runFileSchema.ts";

test(
  "a catalog defect's run opens on the race; the device view shows the stale entry",
  { timeout: 120_000 },
  async () => {
    assertChromium();
    const entry = catalogEntry("classic-no-retry-check");
    assert.ok(entry);
    const found = explore(entry.scenario, {
      strategy: "random",
      schedules: 2000,
      design: entry.design,
      defects: entryDefects(entry),
    });
    const failure = found.firstFailure;
    assert.ok(failure, "the explorer did not find the defect");
    const scratch = await mkdtemp(join(tmpdir(), "odpsim-catalog-view-"));
    try {
      const art = failureArtifacts(
        {
          scenario: entry.scenario,
          seed: failure.seed,
          timing: failure.timing,
          schedule: failure.schedule,
          strategy: "random",
          design: entry.design,
          defects: entryDefects(entry),
        },
        join(scratch, "out"),
      );
      assert.ok(art.runFileJson);
      const run = parseRunFileText(art.runFileJson);
      const violation = run.violations[0];
      assert.ok(violation);
      await withViewer(art.runFileJson, async (page) => {
        await checkRaceView(page, run, "catalog-run.png");
        assert.match((await page.getByTestId("meta").textContent()) ?? "", /fault-vs-invalidate/);
        const stale = page.locator('[data-testid="mr-entries"] li[data-stale="true"]');
        assert.equal(await stale.first().getAttribute("data-va"), String(violation.details["va"]));
        assert.match(
          (await page.getByTestId("report").textContent()) ?? "",
          /device_use_after_free|device_translation_outlives_frame/,
        );
        // Before the race nothing is stale.
        await page.getByTestId("step-slider").fill(String(run.slice?.setupEnd ?? 0));
        assert.equal(await stale.count(), 0, "nothing is stale before the race");
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
);
