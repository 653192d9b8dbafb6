/**
 * Drawing and shrinking one program: deterministic from the seed, shrunk only to values
 * failing with the same key, within the shrink budget.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { checkProgram } from "../../../src/scenario/fuzz/checkProgram.ts";

const arb = fc.array(fc.nat({ max: 1000 }), { minLength: 5, maxLength: 20 });
const bigOnes = (xs: number[]) => xs.filter((x) => x > 100).length;

test("a failure shrinks to the smallest value with the same key", () => {
  const judge = (xs: number[]) => (bigOnes(xs) >= 3 ? "three big" : null);
  const seed = [...Array(50).keys()].find(
    (s) => judge(fc.sample(arb, { seed: s, numRuns: 1 })[0] ?? []) !== null,
  );
  assert.ok(seed !== undefined);
  const r = checkProgram(arb, seed, judge, 10_000);
  assert.equal(r.key, "three big");
  assert.equal(r.shrunk.length, 5); // minLength
  assert.equal(bigOnes(r.shrunk), 3);
  assert.ok(r.shrunk.every((x) => x === 0 || x === 101));
});

test("a candidate failing another way is not kept", () => {
  // Key by the count of big values: shrinking may not drop one, since the key would change.
  const judge = (xs: number[]) => (bigOnes(xs) >= 3 ? `big ${bigOnes(xs)}` : null);
  const found = [...Array(50).keys()]
    .map((s) => checkProgram(arb, s, judge, 10_000))
    .find((r) => r.key !== null);
  assert.ok(found !== undefined);
  assert.equal(judge(found.shrunk), found.key);
  assert.equal(bigOnes(found.shrunk), bigOnes(found.original));
});

test("the same seed draws and shrinks the same; the budget bounds the shrink", () => {
  const judge = (xs: number[]) => (xs.length > 0 ? "any" : null);
  const a = checkProgram(arb, 7, judge, 10_000);
  const b = checkProgram(arb, 7, judge, 10_000);
  assert.deepEqual(a, b);
  const none = checkProgram(arb, 7, judge, 0);
  assert.deepEqual(none.shrunk, none.original);
  assert.equal(none.shrinkRuns, 0);
});

test("a passing draw is not shrunk, and a key already shrunk is not shrunk again", () => {
  const pass = checkProgram(arb, 3, () => null, 100);
  assert.equal(pass.key, null);
  assert.equal(pass.shrinkRuns, 0);
  const known = checkProgram(
    arb,
    3,
    () => "k",
    100,
    (k) => k === "k",
  );
  assert.equal(known.key, "k");
  assert.equal(known.shrinkRuns, 0);
});
