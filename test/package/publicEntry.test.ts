/**
 * The package as a user gets it: `npm pack` (which builds dist/), the tarball installed
 * into an empty project without the network, and a scenario written there that imports
 * only "odpsim", in TypeScript (type-checked against the shipped .d.ts, then run) and in
 * plain JavaScript. Both must find the ABBA inversion and pass the ordered twin.
 *
 * Offline: npm has no registry here, so the project's node_modules gets odpsim's runtime
 * dependencies copied from this checkout's (the closure `npm ls --omit=dev` names) before
 * `npm install --offline` adds the tarball; npm then finds them satisfied and fetches
 * nothing (it fails with ENOTCACHED if it tries).
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { after, before, test } from "node:test";

const ROOT = resolve(import.meta.dirname, "../..");
const FIXTURES = join(import.meta.dirname, "fixtures");
const scratch = mkdtempSync(join(tmpdir(), "odpsim-pack-"));
const project = join(scratch, "project");

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The runtime dependency closure of the package, as paths under node_modules/. */
function runtimeDependencies(): string[] {
  const r = run("npm", ["ls", "--all", "--omit=dev", "--parseable"], ROOT);
  return r.stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((p) => relative(join(ROOT, "node_modules"), p));
}

before(() => {
  run("npm", ["pack", "--silent", "--pack-destination", scratch], ROOT);
  const tarball = readdirSync(scratch).find((f) => f.endsWith(".tgz"));
  assert.ok(tarball !== undefined, "npm pack wrote no tarball");
  mkdirSync(join(project, "node_modules"), { recursive: true });
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "scratch", version: "0.0.0", type: "module", private: true }),
  );
  for (const dep of runtimeDependencies()) {
    cpSync(join(ROOT, "node_modules", dep), join(project, "node_modules", dep), {
      recursive: true,
    });
  }
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(scratch, tarball)], project);
  for (const f of ["abba.ts", "abba.mjs", "tsconfig.json"]) {
    copyFileSync(join(FIXTURES, f), join(project, f));
  }
});

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function assertFindsInversion(stdout: string): void {
  assert.match(stdout, /^inverted: verdict violation$/m);
  assert.match(stdout, /^kind lock_order_inversion$/m);
  assert.match(stdout, /odpsim race report: abba/);
  assert.match(stdout, /^ordered: verdict clean$/m);
}

test("a TypeScript scenario type-checks against the shipped .d.ts and finds the inversion", () => {
  run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], project);
  assertFindsInversion(run(process.execPath, ["--import", "tsx", "abba.ts"], project).stdout);
});

test("a JavaScript scenario runs on the compiled entry and finds the inversion", () => {
  assertFindsInversion(run(process.execPath, ["abba.mjs"], project).stdout);
});

test("only the curated entry is exported: deep imports are refused", () => {
  const probe =
    'import("odpsim/dist/sim/kernel.js").then(() => process.exit(0), (e) => { console.log(e.code); process.exit(1); })';
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe], {
    cwd: project,
    encoding: "utf8",
  });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});

test("TypeDoc documents exactly the entry the package exports", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    exports: Record<string, { types?: string } | string>;
  };
  const typedoc = JSON.parse(readFileSync(join(ROOT, "typedoc.json"), "utf8")) as {
    entryPoints: string[];
  };
  assert.deepEqual(Object.keys(pkg.exports), [".", "./package.json"]);
  const main = pkg.exports["."];
  assert.ok(typeof main === "object" && main.types === "./dist/index.d.ts");
  assert.deepEqual(typedoc.entryPoints, ["src/index.ts"]);
});
