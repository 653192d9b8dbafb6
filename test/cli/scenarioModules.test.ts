/**
 * `odpsim explore` / `replay` on a user's module (src/cli/scenarioModules.ts): the
 * example mirror driver's declared defects are accepted and found, its token records
 * the module and its source hash and is refused once the source changes, and a module
 * that is not usable is one line on stderr with exit 2.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { decodeToken } from "../../src/check/token.ts";
import { odpsim } from "./odpsim.ts";

const DRIVER = resolve(import.meta.dirname, "../../examples/drivers/intervalMirror.ts");
const scratch = mkdtempSync(join(tmpdir(), "odpsim-modules-"));
writeFileSync(join(scratch, "package.json"), JSON.stringify({ type: "module" }));

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function exploreJson(module: string, ...flags: string[]): Record<string, unknown> {
  const r = odpsim("explore", module, "--schedules", "3000", "--json", ...flags);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test("each defect the driver declares is found; without one it is clean", () => {
  for (const defect of ["mirror-no-read-retry", "mirror-invalidate-unlocked"]) {
    const d = exploreJson(DRIVER, "--defect", defect);
    assert.equal(d["verdict"], "violation", defect);
    const kind = (d["violation"] as { kind: string }).kind;
    assert.equal(kind, "device_use_after_free", defect);
  }
  assert.equal(exploreJson(DRIVER)["verdict"], "clean");
});

test("the token records the module and its hash; a changed module is refused", () => {
  const copy = join(scratch, "mirror.ts");
  copyFileSync(DRIVER, copy);
  const d = exploreJson(copy, "--defect", "mirror-no-read-retry");
  const token = String(d["token"]);
  const data = decodeToken(token);
  assert.equal(data.file, copy);
  assert.match(data.sourceHash ?? "", /^[0-9a-f]{16}$/);
  const replayed = odpsim("replay", token);
  assert.equal(replayed.code, 1, replayed.stderr);
  assert.match(replayed.stdout, /device_use_after_free/);
  appendFileSync(copy, "// an edit\n");
  const refused = odpsim("replay", token);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /mirror\.ts has changed since the token was made/);
});

test("odpsim run on the module reruns the seed explore found, with the same violation", () => {
  const d = exploreJson(DRIVER, "--defect", "mirror-no-read-retry");
  const seed = String(d["seed"]);
  const r = odpsim(
    "run",
    DRIVER,
    "--defect",
    "mirror-no-read-retry",
    "--timing",
    "free",
    "--seed",
    seed,
    "--json",
  );
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as { violations: { kind: string }[]; design: string };
  assert.equal(report.violations[0]?.kind, "device_use_after_free");
  assert.equal(report.design, "none");
});

const BAD: readonly (readonly [string, string, RegExp])[] = [
  ["number.ts", "export default 42;\n", /default export is not a scenario/],
  ["syntax.ts", "export default {(\n", /does not load/],
  [
    "factory.ts",
    'export default () => { throw new Error("boom"); };\n',
    /threw while building: boom/,
  ],
  [
    "build.mjs",
    'export default { name: "b", description: "b", build() { throw new Error("kaboom"); } };\n',
    /build threw: kaboom/,
  ],
  ["defects.ts", "export const defects = 3;\nexport default null;\n", /"defects" must be a list/],
];

test("a module that is not usable is one line and exit 2", () => {
  for (const [name, text, message] of BAD) {
    writeFileSync(join(scratch, name), text);
    const r = odpsim("explore", join(scratch, name));
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: ${r.stderr}`);
  }
  const missing = odpsim("explore", join(scratch, "missing.ts"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the module/);
});

test("a defect the module does not declare is refused, naming the ones it does", () => {
  const r = odpsim("explore", DRIVER, "--defect", "mirror-typo");
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /unknown defect "mirror-typo" \(.* declares: mirror-no-read-retry, mirror-invalidate-unlocked\)/,
  );
});

test("a .ts module in a CommonJS package is one line saying to add type: module or use .mts", () => {
  const cjs = mkdtempSync(join(tmpdir(), "odpsim-cjs-"));
  try {
    const pkg = join(cjs, "package.json");
    writeFileSync(pkg, JSON.stringify({ name: "driver" }));
    const copy = join(cjs, "mirror.ts");
    copyFileSync(DRIVER, copy);
    for (const command of ["explore", "run"]) {
      const r = odpsim(command, copy);
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /require\(esm\)|cycle|\n\s+at /);
      assert.ok(
        r.stderr.includes(
          `odpsim: ${copy}: loads as CommonJS (no "type": "module" in ${pkg}), so its imports ` +
            `fail; add "type": "module" to ${pkg}, or rename it mirror.mts`,
        ),
        r.stderr,
      );
    }
    copyFileSync(copy, join(cjs, "mirror.mts"));
    assert.equal(odpsim("explore", join(cjs, "mirror.mts"), "--schedules", "20").code, 0);
  } finally {
    rmSync(cjs, { recursive: true, force: true });
  }
});
