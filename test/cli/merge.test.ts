/**
 * `odpsim merge`: the merged answer of a search's shards is the answer one process gives
 * for the same budget, whatever the split, on a scenario that fails and one that is
 * clean; and it refuses what is not one search.
 *
 * The shards' answers are made in this process through the same steps `explore --json`
 * takes (resolve, outcome, exploreJson), to spare a node start per shard; the CLI tests
 * at the end run the real commands.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PCT_DEFAULT_DEPTH } from "../../src/check/strategies/pct.ts";
import { exploreOutcome } from "../../src/cli/explore/outcome.ts";
import { exploreJson } from "../../src/cli/explore/render.ts";
import { resolveExplore, type ExploreFlags } from "../../src/cli/explore/resolve.ts";
import type { ExploreAnswer } from "../../src/cli/merge/answerSchema.ts";
import { mergeAnswers, type ShardAnswer } from "../../src/cli/merge/mergeAnswers.ts";
import { DEFAULT_EXPLORE_TIMING } from "../../src/sim/timing.ts";
import { odpsim, comparableAnswer } from "./odpsim.ts";

type Json = Record<string, unknown>;

/** explore's flags as commander gives them with no options, then `own`. */
function flags(own: Partial<ExploreFlags>): ExploreFlags {
  return {
    defect: [],
    strategy: "random",
    schedules: 20_000,
    seed: 0,
    workers: 1,
    json: true,
    fault: [],
    preemptionBound: 2,
    reduction: "sleep-sets",
    pctDepth: PCT_DEFAULT_DEPTH,
    timing: DEFAULT_EXPLORE_TIMING,
    full: false,
    format: "text",
    ...own,
  };
}

/** What `odpsim explore NAME --json` with `own` prints, parsed. */
async function answerOf(name: string, own: Partial<ExploreFlags>): Promise<Json> {
  const f = flags(own);
  const job = await resolveExplore(name, f);
  const outcome = await exploreOutcome(job, f, null);
  return JSON.parse(JSON.stringify(exploreJson(job, outcome))) as Json;
}

async function shardsOf(name: string, own: Partial<ExploreFlags>, n: number) {
  const parts: ShardAnswer[] = [];
  for (let k = 1; k <= n; k++) {
    const answer = await answerOf(name, { ...own, shard: { index: k, count: n } });
    parts.push({ file: `shard-${k}.json`, answer: answer as ExploreAnswer });
  }
  return parts;
}

const SPLITS = [1, 2, 3, 4, 7];

interface Search {
  readonly what: string;
  readonly name: string;
  readonly own: Partial<ExploreFlags>;
  readonly verdict: string;
  /** Splits tried: PCT's shrinking is slow, so it gets one. */
  readonly splits: readonly number[];
}

const SEARCHES: readonly Search[] = [
  {
    what: "a scenario that fails (random)",
    name: "fault-vs-invalidate",
    own: { defect: ["classic-no-retry-check"], schedules: 200 },
    verdict: "violation",
    splits: SPLITS,
  },
  {
    what: "a scenario that fails (pct)",
    name: "fault-vs-invalidate",
    own: { defect: ["classic-no-retry-check"], schedules: 200, strategy: "pct" },
    verdict: "violation",
    splits: [3],
  },
  {
    what: "a clean scenario",
    name: "fault-vs-invalidate",
    own: { design: "interval", schedules: 60 },
    verdict: "clean",
    splits: SPLITS,
  },
];

for (const s of SEARCHES) {
  test(`merging ${s.splits.join(", ")} shards of ${s.what} gives one process's answer`, async () => {
    const single = await answerOf(s.name, s.own);
    assert.equal(single.verdict, s.verdict);
    for (const n of s.splits) {
      const parts = await shardsOf(s.name, s.own, n);
      const merged = mergeAnswers(parts);
      assert.deepEqual(comparableAnswer(merged.answer), comparableAnswer(single), `${n} shards`);
      assert.equal(merged.verdict, s.verdict);
      assert.deepEqual(merged.answer.merge.missing, []);
      assert.equal(merged.answer.merge.complete, true);
      if (s.verdict === "violation" && n > 1) {
        const found = parts.filter((p) => p.answer.found).map((p) => p.answer.index);
        // The merge had a choice to make: more than one shard found a failure.
        assert.ok(found.length > 1, `${n} shards: only ${found.length} found one`);
      }
    }
  });
}

test("a missing shard: the next lowest failure, flagged incomplete; nothing found is inconclusive", async () => {
  const failing = SEARCHES[0] as Search;
  const single = await answerOf(failing.name, failing.own);
  const parts = await shardsOf(failing.name, failing.own, 4);
  const winner = (single.index as number) % 4;
  const rest = parts.filter((_, k) => k !== winner);
  const merged = mergeAnswers(rest);
  assert.equal(merged.verdict, "violation");
  assert.ok((merged.answer.index as number) > (single.index as number));
  assert.deepEqual(merged.answer.merge.missing, [`${winner + 1}/4`]);
  assert.equal(merged.answer.merge.complete, false);

  const clean = SEARCHES[2] as Search;
  const cleanParts = await shardsOf(clean.name, clean.own, 3);
  const partial = mergeAnswers(cleanParts.slice(1));
  assert.equal(partial.verdict, "inconclusive", "two of three shards clean is not clean");
  assert.equal(partial.answer.schedulesRun, 40);
  assert.deepEqual(partial.answer.merge.missing, ["1/3"]);
});

const dir = mkdtempSync(join(tmpdir(), "odpsim-merge-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeAnswer(name: string, answer: Json | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof answer === "string" ? answer : `${JSON.stringify(answer)}\n`);
  return path;
}

test("odpsim merge DIR of real explore --shard answers: the single search's answer and exit code", () => {
  const base = ["fault-vs-invalidate", "--defect", "classic-no-retry-check", "--schedules", "200"];
  const single = odpsim("explore", ...base, "--json");
  assert.equal(single.code, 1, single.stderr);
  const shardDir = join(dir, "shards");
  mkdirSync(shardDir);
  for (const k of [1, 2]) {
    const r = odpsim("explore", ...base, "--shard", `${k}/2`, "--json");
    writeAnswer(join("shards", `k${k}.json`), r.stdout);
  }
  const merged = odpsim("merge", shardDir, "--json");
  assert.equal(merged.code, 1, merged.stderr);
  assert.deepEqual(
    comparableAnswer(JSON.parse(merged.stdout) as Json),
    comparableAnswer(JSON.parse(single.stdout) as Json),
  );
  const text = odpsim("merge", shardDir);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /odpsim race report/);
  assert.match(text.stdout, /replay: odpsim replay odp2\./);
  assert.match(text.stdout, /merged 2 of 2 shards/);
});

test("odpsim merge refuses answers of different searches with one line, exit 2", async () => {
  const own = { design: "interval", schedules: 30 };
  const a = await answerOf("fault-vs-invalidate", { ...own, shard: { index: 1, count: 2 } });
  const b = await answerOf("fault-vs-invalidate", {
    ...own,
    seed: 1,
    shard: { index: 2, count: 2 },
  });
  const c = await answerOf("fault-vs-invalidate", { ...own, shard: { index: 2, count: 3 } });
  const d = await answerOf("fault-vs-invalidate", {
    ...own,
    schedules: 31,
    shard: { index: 2, count: 2 },
  });
  const pa = writeAnswer("a.json", a);
  for (const [other, why] of [
    [b, /\(seed 1 vs 0\)/],
    [c, /\(shard count 3 vs 2\)/],
    [d, /\(schedules 31 vs 30\)/],
  ] as const) {
    const r = odpsim("merge", pa, writeAnswer("other.json", other));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /other\.json: not the same search as .*a\.json/);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("odpsim merge: bad files get one line and exit 2; an empty file is a missing shard", async () => {
  const bad = [
    [writeAnswer("bad.json", "{nope"), /bad\.json: not JSON/],
    [
      writeAnswer("wrong.json", { verdict: "clean" }),
      /wrong\.json: not an explore --json answer at found/,
    ],
    [join(dir, "nosuch.json"), /no such file or directory: .*nosuch\.json/],
  ] as const;
  for (const [path, why] of bad) {
    const r = odpsim("merge", path);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const answer = await answerOf("fault-vs-invalidate", {
    design: "interval",
    schedules: 30,
    shard: { index: 1, count: 2 },
  });
  const r = odpsim("merge", writeAnswer("s1.json", answer), writeAnswer("s2.json", ""));
  assert.equal(r.code, 4, "half the search unsearched is inconclusive");
  assert.match(r.stderr, /s2\.json is empty/);
  assert.match(r.stdout, /missing shards: 2\/2/);
});
