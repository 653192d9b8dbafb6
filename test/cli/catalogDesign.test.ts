/**
 * `odpsim catalog check --design ./my-design.ts` (src/check/catalog/designCheck.ts,
 * src/cli/commands/catalogDesign.ts): the example design's defect is found on the
 * catalog scenario it breaks, with a token that replays it; without the defect every
 * mlx5 scenario is clean and the others are skipped with a reason; a design that
 * crashes is never clean; worker threads register the module; bad input is one line
 * with exit 2. Small budgets: the found schedule is the search's own, from seed 0.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { designCheck, type DesignCheckResult } from "../../src/check/catalog/designCheck.ts";
import { catalogScenarioRef } from "../../src/check/catalog/scenarioRefs.ts";
import { loadDesignModule, withDesignModule } from "../../src/cli/designModules.ts";
import { odpsim } from "./odpsim.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DESIGN = join(ROOT, "examples/designs/intervalNoSetSeq.ts");
const DEFECT = "user-invalidate-no-set-seq";
/** The scenarios that build no mlx5 host: the dmirror one and the two uverbs ones. */
const SKIPPED = ["dmirror-close-vs-munmap", "uverbs-fork-unplug", "uverbs-mmap-unplug"];
const scratch = mkdtempSync(join(tmpdir(), "odpsim-catalog-design-"));
writeFileSync(join(scratch, "package.json"), JSON.stringify({ type: "module" }));

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function check(...flags: string[]): { code: number | null; result: DesignCheckResult } {
  const r = odpsim("catalog", "check", "--json", ...flags);
  assert.equal(r.stderr, "");
  return { code: r.code, result: JSON.parse(r.stdout) as DesignCheckResult };
}

function skippedOf(result: DesignCheckResult): string[] {
  return result.entries.filter((e) => e.status === "skipped").map((e) => e.scenario);
}

test("with the design's defect, catalog check finds it and its token replays it", () => {
  const { code, result } = check("--design", DESIGN, "--defect", DEFECT, "--budget", "100");
  assert.equal(code, 1);
  assert.deepEqual(result.defects, [DEFECT]);
  const hit = result.entries.find((e) => e.scenario === "fault-vs-invalidate");
  assert.equal(hit?.status, "violation");
  assert.equal(hit.violation?.kind, "device_use_after_free");
  const replayed = odpsim("replay", hit.violation.token);
  assert.equal(replayed.code, 1, replayed.stderr);
  assert.match(replayed.stdout, /BUG: device_use_after_free/);
  assert.deepEqual(skippedOf(result), SKIPPED);
});

test("without a defect every mlx5 scenario is clean on its whole budget", () => {
  const { code, result } = check("--design", DESIGN, "--budget", "100");
  assert.equal(code, 0);
  assert.deepEqual(result.defects, []);
  const run = result.entries.filter((e) => e.status !== "skipped");
  assert.ok(run.length >= 15, `${run.length} scenarios ran`);
  for (const e of run) {
    assert.equal(e.status, "clean", e.scenario);
    assert.equal(e.schedulesRun, 100, e.scenario);
  }
  assert.deepEqual(skippedOf(result), SKIPPED);
  const reasons = result.entries.filter((e) => e.status === "skipped").map((e) => e.reason);
  assert.match(reasons[0] ?? "", /builds no mlx5 host/);
  assert.match(reasons[1] ?? "", /not an mlx5 ODP scenario/);
});

test("a design that crashes is inconclusive, never clean: exit 3 and a token", () => {
  const crashing = join(scratch, "crashing.ts");
  writeFileSync(
    crashing,
    'import { intervalMlx5Odp } from "odpsim";\n' +
      "export default { ...intervalMlx5Odp, *regOdpMr() { throw new Error('user bug'); } };\n",
  );
  const { code, result } = check("--design", crashing, "--budget", "20");
  assert.equal(code, 3);
  const run = result.entries.filter((e) => e.status !== "skipped");
  assert.ok(run.length > 0);
  for (const e of run) {
    assert.equal(e.status, "inconclusive", e.scenario);
    assert.match(e.reason ?? "", /internal error .*user bug/, e.scenario);
    assert.match(e.errorToken ?? "", /^odp2\./, e.scenario);
  }
});

test("worker threads register the design module and find the same violation", async () => {
  const design = await loadDesignModule(DESIGN);
  const options = {
    design,
    defects: [DEFECT],
    budget: 100,
    scenarios: ["fault-vs-invalidate"],
  };
  const alone = await designCheck(options);
  const workers = await designCheck({
    ...options,
    workers: 2,
    workerRef: (s) => withDesignModule(catalogScenarioRef(s), design),
  });
  const [a] = alone.entries;
  const [w] = workers.entries;
  assert.equal(a?.status, "violation");
  assert.equal(w?.status, "violation");
  assert.equal(w.schedulesToFind, a.schedulesToFind);
  assert.equal(w.violation?.token, a.violation?.token);
});

test("bad input is one line on stderr and exit 2", () => {
  const notDesign = join(scratch, "notDesign.mjs");
  writeFileSync(notDesign, "export default 42;\n");
  for (const [flags, message] of [
    [["--defect", DEFECT], /--defect goes with --design/],
    [["--design", join(scratch, "missing.ts")], /cannot read the module/],
    [["--design", notDesign], /is not an Mlx5OdpDesign/],
    [["--design", DESIGN, "--defect", "typo"], /unknown defect "typo".*declares: user-invalidate/],
    [["--design", DESIGN, "--defect", "classic-no-retry-check"], /belongs to design classic/],
  ] as const) {
    const r = odpsim("catalog", "check", ...flags);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.equal(r.stdout, "");
  }
});
