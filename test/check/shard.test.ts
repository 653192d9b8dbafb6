import assert from "node:assert/strict";
import { test } from "node:test";
import { formatShard, parseShard, ShardSpecError, workerPartition } from "../../src/check/shard.ts";

test("k/n parses, with spaces allowed", () => {
  assert.deepEqual(parseShard("1/1"), { index: 1, count: 1 });
  assert.deepEqual(parseShard(" 3 / 8 "), { index: 3, count: 8 });
  assert.equal(formatShard(parseShard("2/5")), "2/5");
});

for (const [spec, why] of [
  ["", /not of the form k\/n/],
  ["3", /not of the form k\/n/],
  ["a/b", /not of the form k\/n/],
  ["-1/3", /not of the form k\/n/],
  ["1.5/3", /not of the form k\/n/],
  ["0/3", /k must be at least 1/],
  ["4/3", /k must be at most n \(3\)/],
  ["0/0", /n must be at least 1/],
] as const) {
  test(`--shard "${spec}" is refused with a clear message`, () => {
    assert.throws(
      () => parseShard(spec),
      (e: unknown) =>
        e instanceof ShardSpecError && why.test(e.message) && e.message.includes(`"${spec}"`),
    );
  });
}

test("shards and their workers partition the indices exactly once", () => {
  for (const count of [1, 2, 3]) {
    for (const workers of [1, 2, 3]) {
      const owners = new Map<number, string>();
      for (let k = 1; k <= count; k++) {
        for (let w = 0; w < workers; w++) {
          const p = workerPartition({ index: k, count }, workers, w);
          for (let i = p.residue; i < 60; i += p.modulus) {
            assert.ok(!owners.has(i), `index ${i} owned twice`);
            assert.equal(i % count, k - 1, "an index outside its shard");
            owners.set(i, `${k}/${w}`);
          }
        }
      }
      assert.equal(owners.size, 60);
    }
  }
});
