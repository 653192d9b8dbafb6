/**
 * The files `explore --out DIR` writes for a user's module, a scenario module
 * (examples/drivers/intervalMirror.ts) and a design module on a catalog scenario
 * (examples/designs/intervalNoSetSeq.ts): the run file is one `odpsim view` accepts and
 * serves, naming the scenario and design, and opens at the violation; the token on the
 * report's last line replays the same violation.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { parseRunFileText } from "../../src/output/runFileSchema.ts";
import { initialStep } from "../../web/src/timelineView.ts";
import { BIN, odpsim } from "./odpsim.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "odpsim-module-runs-"));

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const CASES = [
  {
    what: "a scenario module",
    args: [join(ROOT, "examples/drivers/intervalMirror.ts"), "--defect", "mirror-no-read-retry"],
    scenario: "interval-mirror",
    design: "none",
  },
  {
    what: "a design module on a catalog scenario",
    args: [
      "fault-vs-invalidate",
      "--design",
      join(ROOT, "examples/designs/intervalNoSetSeq.ts"),
      "--defect",
      "user-invalidate-no-set-seq",
    ],
    scenario: "fault-vs-invalidate",
    design: join(ROOT, "examples/designs/intervalNoSetSeq.ts"),
  },
] as const;

/** `odpsim view FILE`: the run it serves at /run.json, then its exit code on SIGTERM. */
async function viewServes(file: string): Promise<{ served: string; code: number | null }> {
  const child = spawn(process.execPath, [BIN, "view", file], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", done));
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout);
      if (m !== null) done(m[0]);
    });
    child.on("exit", () => {
      fail(new Error(`view exited before printing its URL: ${stderr}`));
    });
  });
  const served = await (await fetch(new URL("run.json", url))).text();
  child.kill("SIGTERM");
  return { served, code: await exited };
}

for (const c of CASES) {
  test(
    `${c.what}: view serves its run file and its report's token replays it`,
    {
      timeout: 180_000,
    },
    async () => {
      const out = join(scratch, c.scenario);
      const explored = odpsim("explore", ...c.args, "--out", out);
      assert.equal(explored.code, 1, explored.stderr);
      const text = readFileSync(join(out, "run.json"), "utf8");
      const run = parseRunFileText(text);
      assert.equal(run.meta.scenario, c.scenario);
      assert.equal(run.meta.design, c.design);
      const violation = run.violations[0];
      assert.equal(violation?.kind, "device_use_after_free");
      assert.equal(initialStep(run), violation.step);

      const report = readFileSync(join(out, "report.txt"), "utf8").trim().split("\n");
      const token = /^replay: odpsim replay (\S+)$/.exec(report.at(-1) ?? "")?.[1];
      assert.ok(token !== undefined, report.at(-1));
      const replayed = odpsim("replay", token);
      assert.equal(replayed.code, 1, replayed.stderr);
      assert.match(
        replayed.stdout,
        new RegExp(`BUG: device_use_after_free .* at step ${violation.step}:`),
      );

      const view = await viewServes(join(out, "run.json"));
      assert.equal(view.served, text);
      assert.equal(view.code, 0);
    },
  );
}
