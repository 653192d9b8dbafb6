import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BIN, odpsim } from "./odpsim.ts";
import { catalogEntry } from "../../src/check/catalog/catalog.ts";
import {
  HMM_MIRROR_CARRIED_CHANGES,
  HMM_MIRROR_KEPT_AS_POSTED,
} from "../../src/rdma/mlx5/odp/hmmMirrorAsPosted.ts";

test("odpsim catalog --json lists {id, design, title, fix, scenario} per entry", () => {
  const r = odpsim("catalog", "--json");
  assert.equal(r.code, 0);
  const entries = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.ok(entries.length >= 13);
  for (const e of entries)
    assert.deepEqual(Object.keys(e).sort(), ["design", "fix", "id", "scenario", "title"]);
});

test("odpsim catalog check --json follows the contract and exits 0 when all are found and clean", () => {
  const r = odpsim("catalog", "check", "--budget", "300", "--json");
  const out = JSON.parse(r.stdout) as {
    entries: Record<string, unknown>[];
    schedulesPerSecond: number;
  };
  const keys = [
    "buggyVerdict",
    "depth",
    "fixedFindings",
    "fixedSchedules",
    "fixedUnexplained",
    "fixedVerdict",
    "fixedViolations",
    "found",
    "id",
    "internalError",
    "schedulesToFind",
    "secondsToFind",
    "violation",
  ];
  for (const e of out.entries) assert.deepEqual(Object.keys(e).sort(), keys);
  assert.ok(out.schedulesPerSecond > 0);
  const allGood = out.entries.every((e) => e.found === true && e.fixedUnexplained === 0);
  assert.ok(out.entries.every((e) => e.internalError === null));
  assert.equal(r.code, allGood ? 0 : 1);
  assert.equal(r.stderr.includes("\r"), false, "no progress bar when stderr is not a terminal");
});

test("bad input exits 2 with one line and no stack trace", () => {
  for (const args of [
    ["explore", "no-such-scenario"],
    ["explore", "fault-vs-invalidate", "--schedules", "zero"],
    ["replay", "odp1.not-a-token"],
    ["explore", "fault-vs-invalidate", "--defect", "no-such-defect"],
  ]) {
    const r = odpsim(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
});

test("explore prints a replay token; replay --json reproduces the violation with the same trace hash twice", () => {
  const found = odpsim(
    "explore",
    "fault-vs-invalidate",
    "--defect",
    "classic-no-retry-check",
    "--schedules",
    "500",
    "--json",
  );
  assert.equal(found.code, 1);
  const { token, violation } = JSON.parse(found.stdout) as {
    token: string;
    violation: { kind: string };
  };
  const first = odpsim("replay", token, "--json");
  const second = odpsim("replay", token, "--json");
  assert.equal(first.code, 1);
  const a = JSON.parse(first.stdout) as { traceHash: string; violations: { kind: string }[] };
  const b = JSON.parse(second.stdout) as { traceHash: string };
  assert.equal(a.violations[0]?.kind, violation.kind);
  assert.equal(a.traceHash, b.traceHash);
});

function exploreJson(...args: string[]) {
  const r = odpsim("explore", ...args, "--json");
  return { code: r.code, out: JSON.parse(r.stdout) as Record<string, unknown> };
}

test("explore --workers 2 and the shards of --shard k/n find the same lowest failing index as one worker", () => {
  const base = ["fault-vs-invalidate", "--defect", "classic-no-retry-check", "--schedules", "400"];
  const one = exploreJson(...base);
  const two = exploreJson(...base, "--workers", "2");
  const shards = [1, 2, 3].map((k) => exploreJson(...base, "--shard", `${k}/3`));
  assert.equal(one.code, 1);
  assert.equal(two.out.index, one.out.index);
  const found = shards.filter((s) => s.out.found === true).map((s) => s.out.index as number);
  assert.equal(Math.min(...found), one.out.index, "merging shards: the lowest index wins");
  for (const [i, s] of shards.entries()) {
    if (s.out.found === true)
      assert.equal((s.out.index as number) % 3, i, "shard k owns i mod n = k-1");
  }
});

test("explore with --fault shrinks and tokens the failure; replay reproduces it with the fault plan", () => {
  const found = exploreJson(
    "fault-vs-invalidate",
    "--design",
    "interval",
    "--fault",
    "umr",
    "--fault-rate",
    "0.5",
    "--schedules",
    "300",
  );
  assert.equal(found.code, 1);
  const token = found.out.token as string;
  const plan = JSON.parse(Buffer.from(token.slice(5), "base64url").toString()) as {
    f?: { s: string[] };
  };
  assert.deepEqual(plan.f?.s, ["umr"]);
  const replay = odpsim("replay", token, "--json");
  assert.equal(replay.code, 1);
  const r = JSON.parse(replay.stdout) as { violations: { kind: string }[] };
  assert.equal(r.violations[0]?.kind, (found.out.violation as { kind: string }).kind);
});

test("explore rejects a malformed --shard with exit 2", () => {
  for (const spec of ["0/2", "3/2", "x"]) {
    const r = odpsim("explore", "fault-vs-invalidate", "--shard", spec);
    assert.equal(r.code, 2, spec);
    assert.match(r.stderr, /--shard/);
  }
});

test("odpsim bench with a filter no suite matches exits 2 with one line", () => {
  const r = odpsim("bench", "--filter", "nosuch.");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no suite matches --filter nosuch\./);
});

test("odpsim catalog check piped into a reader that stops early ends quietly (no EPIPE trace)", () => {
  const r = spawnSync("bash", ["-c", `"${BIN}" catalog check --budget 50 | head -n 1 >/dev/null`], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
});

test("odpsim catalog says which changes the hmm-mirror default carries, each a catalog defect of that design", () => {
  const r = odpsim("catalog");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /hmm-mirror is seed 002 as posted/);
  for (const c of HMM_MIRROR_CARRIED_CHANGES) {
    assert.match(r.stdout, new RegExp(`^  ${c.defect}: `, "m"));
    assert.equal(catalogEntry(c.defect)?.design, "hmm-mirror", c.defect);
  }
  for (const kept of HMM_MIRROR_KEPT_AS_POSTED) assert.ok(r.stdout.includes(kept), kept);
});
