import assert from "node:assert/strict";
import { test } from "node:test";
import { seedFor } from "../../src/check/seedFor.ts";

test("seedFor is pinned by golden values", () => {
  // Changing the mixer changes what every recorded index of every search means.
  const golden = [0, 1, 2, 1000].flatMap((base) => [0, 1, 2, 99999].map((i) => seedFor(base, i)));
  assert.deepEqual(golden, GOLDEN);
});

test("seedFor gives safe, non-negative integers that odpsim run --seed accepts", () => {
  for (const base of [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    for (const i of [0, 1, 7, 2 ** 31, 2 ** 40]) {
      const s = seedFor(base, i);
      assert.ok(Number.isSafeInteger(s) && s >= 0, `${base}, ${i}: ${s}`);
    }
  }
});

test("searches with neighbouring base seeds share no schedule seeds", () => {
  // With S + i, base seed 1 reran all but one of base seed 0's first 10,000 schedules.
  const zero = new Set(Array.from({ length: 10_000 }, (_, i) => seedFor(0, i)));
  const one = Array.from({ length: 10_000 }, (_, i) => seedFor(1, i));
  assert.equal(zero.size, 10_000);
  assert.equal(one.filter((s) => zero.has(s)).length, 0);
});

test("seedFor refuses negative or fractional inputs", () => {
  assert.throws(() => seedFor(-1, 0), RangeError);
  assert.throws(() => seedFor(0, 1.5), RangeError);
});

const GOLDEN: readonly number[] = [
  7928582432575458, 318307557850000, 8593155054165115, 7431480258705613, 8741671189477211,
  2758025603258386, 5733271693114668, 3197044598756948, 1263884357795314, 3492008658081379,
  6257859931624509, 584599579058735, 1832921426208535, 6315068743865126, 3950757217345296,
  7446719666710838,
];
