/**
 * The viewer on a real catalog defect: the explorer finds classic-no-retry-check in the
 * fault-vs-invalidate scenario, the failure is shrunk and replayed with snapshots, and
 * Debian's chromium (driven by playwright-core) shows the stale device translation at
 * the violation and none at the start.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS } from "./fixtures/chromium.ts";
import { catalogEntry, entryDefects } from "../../src/check/catalog/catalog.ts";
import { explore } from "../../src/check/explore.ts";
import { failureArtifacts } from "../../src/cli/failureArtifacts.ts";
import { buildViewer } from "../../src/output/viewerBuild.ts";
import { startViewerServer } from "../../src/output/viewerServer.ts";

test(
  "a catalog defect's run: the device view shows the stale entry at the violation",
  { timeout: 90_000 },
  async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install -y chromium)`);
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
    const run = JSON.parse(art.runFileJson) as {
      violations: { step: number; details: { va: number } }[];
    };
    const violation = run.violations[0];
    assert.ok(violation);

    const dist = join(scratch, "dist");
    await buildViewer(dist);
    const server = await startViewerServer({ distDir: dist, runJson: art.runFileJson });
    const context = await chromium.launchPersistentContext(join(scratch, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1440, height: 900 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      await page.goto(server.url);
      const cursor = page.getByTestId("cursor-step");
      const stale = page.locator('[data-testid="mr-entries"] li[data-stale="true"]');
      await cursor.waitFor();
      assert.match((await page.getByTestId("meta").textContent()) ?? "", /fault-vs-invalidate/);
      assert.equal(await stale.count(), 0, "nothing is stale before the race");

      await page.getByTestId("violation-marker").click();
      assert.equal(await cursor.textContent(), String(violation.step));
      assert.ok((await stale.count()) >= 1, "the stale translation is shown");
      assert.equal(await stale.first().getAttribute("data-va"), String(violation.details.va));
      assert.match((await page.getByTestId("report").textContent()) ?? "", /device_use_after_free/);
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, "catalog-run.png"), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.close();
      await rm(scratch, { recursive: true, force: true });
    }
  },
);
