/**
 * `npm test`'s browser provisioning (fixtures/provisionChromium.ts) decides from the
 * machine it is on: a fake machine records what it is asked to do (apt runs, lines
 * printed), and a real run of the entry point with the browser present stays silent.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEBIAN_CHROMIUM } from "./fixtures/chromium.ts";
import { APT_STEPS, provisionChromium, type ProvisionHost } from "./fixtures/provisionChromium.ts";

interface FakeMachine {
  readonly host: ProvisionHost;
  readonly aptRuns: string[];
  readonly lines: string[];
}

/** A machine where `installs` says whether apt's install step puts the browser in place. */
function machine(opts: {
  present?: boolean;
  isRoot?: boolean;
  hasApt?: boolean;
  failing?: string;
  installs?: boolean;
}): FakeMachine {
  const files = new Set<string>(opts.present === true ? [DEBIAN_CHROMIUM] : []);
  const aptRuns: string[] = [];
  const lines: string[] = [];
  const host: ProvisionHost = {
    chromium: DEBIAN_CHROMIUM,
    exists: (path) => files.has(path),
    isRoot: opts.isRoot ?? true,
    hasApt: opts.hasApt ?? true,
    apt: (args) => {
      const command = args.join(" ");
      aptRuns.push(command);
      if (command === opts.failing) return 100;
      if (args[0] === "install" && opts.installs !== false) files.add(DEBIAN_CHROMIUM);
      return 0;
    },
    say: (line) => lines.push(line),
  };
  return { host, aptRuns, lines };
}

const steps = APT_STEPS.map((a) => a.join(" "));

test("a browser already there: nothing installed, nothing printed", () => {
  const m = machine({ present: true });
  assert.equal(provisionChromium(m.host), "present");
  assert.deepEqual(m.aptRuns, []);
  assert.deepEqual(m.lines, []);
});

test("missing, as root with apt: apt-get update then install chromium, saying so", () => {
  const m = machine({});
  assert.equal(provisionChromium(m.host), "installed");
  assert.deepEqual(m.aptRuns, ["update", "install -y --no-install-recommends chromium"]);
  assert.equal(m.lines.length, 2);
  assert.match(m.lines[0] ?? "", /\/usr\/bin\/chromium is missing; installing/);
  assert.match(m.lines[1] ?? "", /installed \/usr\/bin\/chromium/);
});

test("missing and not root: one line with the instruction, no apt run", () => {
  const m = machine({ isRoot: false });
  assert.equal(provisionChromium(m.host), "cannot");
  assert.deepEqual(m.aptRuns, []);
  assert.equal(m.lines.length, 1);
  assert.match(m.lines[0] ?? "", /not root.*browser tests will fail.*apt-get install -y chromium/);
});

test("missing on a machine without apt: one line, no apt run", () => {
  const m = machine({ hasApt: false });
  assert.equal(provisionChromium(m.host), "cannot");
  assert.deepEqual(m.aptRuns, []);
  assert.deepEqual(m.lines.length, 1);
  assert.match(m.lines[0] ?? "", /no apt-get/);
});

for (const failing of steps) {
  test(`apt-get ${failing} failing: stops there and says which step and its status`, () => {
    const m = machine({ failing });
    assert.equal(provisionChromium(m.host), "cannot");
    assert.equal(m.aptRuns.at(-1), failing);
    assert.match(m.lines.at(-1) ?? "", new RegExp(`apt-get ${failing} exited with status 100`));
  });
}

test("apt succeeding without the binary appearing is not taken as installed", () => {
  const m = machine({ installs: false });
  assert.equal(provisionChromium(m.host), "cannot");
  assert.match(m.lines.at(-1) ?? "", /not as \/usr\/bin\/chromium/);
});

test("the pretest entry point is silent and exits 0 when the browser is there", () => {
  const entry = fileURLToPath(new URL("./provision.ts", import.meta.url));
  // This process's own node binary stands for a browser that is present.
  const r = spawnSync(process.execPath, ["--import", "tsx", entry], {
    encoding: "utf8",
    env: { ...process.env, ODPSIM_CHROMIUM: process.execPath },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "");
});
