import assert from "node:assert/strict";
import { test } from "node:test";
import { odpsim } from "./odpsim.ts";

const base = [
  ...[
    "explore",
    "prefetch-vs-dereg",
    "--design",
    "classic",
    "--defect",
    "prefetch-count-before-srcu-sync",
  ],
  ...["--strategy", "pct", "--schedules", "300", "--json"],
];

test("explore --pct-depth reaches PCT: depth 1 (no change points) misses a bug depth 3 finds", () => {
  const shallow = odpsim(...base, "--pct-depth", "1");
  assert.equal(shallow.code, 0, shallow.stderr);
  assert.equal((JSON.parse(shallow.stdout) as { found: boolean }).found, false);
  const deep = odpsim(...base, "--pct-depth", "3");
  assert.equal(deep.code, 1, deep.stderr);
  assert.equal((JSON.parse(deep.stdout) as { found: boolean }).found, true);
});

test("explore refuses a PCT depth below 1 with exit 2 and says which option", () => {
  const r = odpsim("explore", "fault-vs-invalidate", "--strategy", "pct", "--pct-depth", "0");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--pct-depth must be an integer in \[1, 64\], got "0"/);
});
