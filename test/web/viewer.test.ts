/**
 * The viewer in a real browser: Debian's chromium driven by playwright-core loads a run
 * served by the viewer server, moves the cursor through the UI, and checks the device
 * view. `npm test` installs chromium
 * first (provision.ts); without it this test fails saying so.
 *
 * The run is the hand-built stale-translation race of test/output/fixtures (the model
 * layers that would produce a catalog defect run do not exist yet); switch to a catalog
 * defect's run once they do.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { assertChromium, CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS } from "./fixtures/chromium.ts";
import { serializeRunFile } from "../../src/output/runFile.ts";
import { buildViewer } from "../../src/output/viewerBuild.ts";
import { startViewerServer } from "../../src/output/viewerServer.ts";
import { FAULT_VA, staleRace } from "../output/fixtures/staleRace.ts";

test(
  "moving to the violation shows the stale MR entry in the device view",
  { timeout: 60_000 },
  async () => {
    assertChromium();
    const { run } = staleRace();
    const violationStep = run.violations[0]?.step;
    assert.equal(violationStep, 10);

    const scratch = await mkdtemp(join(tmpdir(), "odpsim-viewer-test-"));
    const dist = join(scratch, "dist");
    await buildViewer(dist);
    const server = await startViewerServer({ distDir: dist, runJson: serializeRunFile(run) });
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
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      await page.goto(server.url);

      const cursor = page.getByTestId("cursor-step");
      const stale = page.locator('[data-testid="mr-entries"] li[data-stale="true"]');
      await cursor.waitFor();
      // A run with a violation opens at it.
      assert.equal(await cursor.textContent(), String(violationStep));
      assert.match((await page.getByTestId("meta").textContent()) ?? "", /stale-race/);

      // Step 4: munmap has zapped the PTE, the NIC has not programmed the MR yet.
      await page.getByTestId("step-slider").fill("4");
      assert.equal(await cursor.textContent(), "4");
      assert.equal(await page.getByTestId("snapshot-step").textContent(), "snapshot of step 4");
      assert.equal(await stale.count(), 0);
      assert.equal(await page.locator('[data-testid="mr-entries"] li').count(), 0);

      // The violation marker moves the cursor to the violation's step.
      await page.getByTestId("violation-marker").click();
      assert.equal(await cursor.textContent(), String(violationStep));
      assert.equal(await stale.count(), 1);
      assert.equal(await stale.getAttribute("data-va"), String(FAULT_VA));
      assert.equal(await stale.getAttribute("data-pfn"), String(0x42));
      const cpuPage = page.locator(`[data-testid="pages"] li[data-va="${FAULT_VA}"]`);
      assert.equal(await cpuPage.getAttribute("data-present"), "false");
      assert.match((await page.getByTestId("report").textContent()) ?? "", /notifier sequence/);
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, "viewer.png"), fullPage: true });

      // One step back with the keyboard: the MR is not programmed yet, nothing is stale.
      await page.locator("body").press("ArrowLeft");
      assert.equal(await cursor.textContent(), String(violationStep - 1));
      assert.equal(await stale.count(), 0);

      assert.deepEqual(problems, [], "no errors in the page");
    } finally {
      await context.close();
      await server.close();
      await rm(scratch, { recursive: true, force: true });
    }
  },
);
