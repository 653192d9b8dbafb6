/**
 * `--design ./my-design.ts` (src/cli/designModules.ts): the example design wrapping the
 * interval generation is explored on a catalog scenario and its declared defect found
 * (in this thread and in worker threads), is clean without it, records its source hash
 * in the token (a changed module is refused), runs the test_odp port, and a module that
 * is not a design is one line with exit 2.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { decodeToken } from "../../src/check/token.ts";
import { odpsim } from "./odpsim.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DESIGN = join(ROOT, "examples/designs/intervalNoSetSeq.ts");
const DEFECT = "user-invalidate-no-set-seq";
const SCENARIO = "fault-vs-invalidate";
const scratch = mkdtempSync(join(tmpdir(), "odpsim-designs-"));
writeFileSync(join(scratch, "package.json"), JSON.stringify({ type: "module" }));

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function exploreJson(design: string, ...flags: string[]): Record<string, unknown> {
  const r = odpsim("explore", SCENARIO, "--design", design, "--json", ...flags);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test("the design's defect is found on a catalog scenario; without it the search is clean", () => {
  const found = exploreJson(DESIGN, "--defect", DEFECT, "--schedules", "3000");
  assert.equal(found["verdict"], "violation");
  assert.equal((found["violation"] as { kind: string }).kind, "device_use_after_free");
  assert.equal((found["search"] as { design: string }).design, DESIGN);
  const clean = exploreJson(DESIGN, "--schedules", "3000");
  assert.equal(clean["verdict"], "clean");
  assert.equal(clean["schedulesRun"], 3000);
});

test("worker threads load the design module too", () => {
  const d = exploreJson(DESIGN, "--defect", DEFECT, "--schedules", "3000", "--workers", "2");
  assert.equal(d["verdict"], "violation");
});

test("the token records the design module's hash; a changed module is refused", () => {
  const copy = join(scratch, "design.ts");
  copyFileSync(DESIGN, copy);
  const token = String(exploreJson(copy, "--defect", DEFECT, "--schedules", "3000")["token"]);
  const data = decodeToken(token);
  assert.equal(data.design, copy);
  assert.match(data.designHash ?? "", /^[0-9a-f]{16}$/);
  const replayed = odpsim("replay", token);
  assert.equal(replayed.code, 1, replayed.stderr);
  assert.match(replayed.stdout, /device_use_after_free/);
  appendFileSync(copy, "// an edit\n");
  const refused = odpsim("replay", token);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /design module .*design\.ts has changed since the token was made/);
});

test("a module that is not a design, or is missing, is one line and exit 2", () => {
  const notDesign = join(scratch, "notDesign.mjs");
  writeFileSync(notDesign, "export default { core: { name: 'interval' } };\n");
  for (const [path, message] of [
    [notDesign, /is not an Mlx5OdpDesign .*no kernelSetup, allocUcontext/],
    [join(scratch, "missing.ts"), /cannot read the module/],
  ] as const) {
    const r = odpsim("explore", SCENARIO, "--design", path);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

/** The test_odp port (test/programs/testOdp.test.ts) run under `design`. */
function testOdpPort(design: string, ...flags: string[]): { code: number | null; out: string } {
  // Without NODE_TEST_CONTEXT, which would make the child a subtest reporter of this run.
  const env: NodeJS.ProcessEnv = { ...process.env, ODPSIM_TEST_ODP_DESIGN: design };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", ...flags, join(ROOT, "test/programs/testOdp.test.ts")],
    { cwd: ROOT, encoding: "utf8", env },
  );
  return { code: r.status, out: r.stdout + r.stderr };
}

test("the test_odp port passes under the user's design, and fails under a broken one", () => {
  const passed = testOdpPort(DESIGN);
  assert.equal(passed.code, 0, passed.out);
  assert.match(passed.out, /# fail 0/);
  // A design that refuses every registration: the port really runs the design it is given.
  const broken = join(scratch, "broken.ts");
  writeFileSync(
    broken,
    'import { EINVAL, intervalMlx5Odp } from "odpsim";\n' +
      "export default { ...intervalMlx5Odp, *regOdpMr() { return EINVAL; } };\n",
  );
  const failed = testOdpPort(broken, "--test-name-pattern", "^test_odp_rc_traffic$");
  assert.notEqual(failed.code, 0, failed.out);
  assert.match(failed.out, /not ok \d+ - test_odp_rc_traffic\n/);
});
