import assert from "node:assert/strict";
import { test } from "node:test";
import {
  independent,
  isAsleep,
  sleepAfter,
  type StepFootprint,
} from "../../../src/check/strategies/sleepSet.ts";

const fp = (...keys: string[]): StepFootprint => ({ opaque: false, keys });
const opaque: StepFootprint = { opaque: true, keys: [] };

test("steps are independent only when both footprints are known and share no key", () => {
  assert.equal(independent(fp("a"), fp("b")), true);
  assert.equal(independent(fp(), fp()), true);
  assert.equal(independent(fp("a", "b"), fp("c", "b")), false);
  assert.equal(independent(fp("a"), opaque), false);
  assert.equal(independent(opaque, fp()), false);
  assert.equal(independent(null, fp("a")), false);
});

test("a step wakes the sleeping tasks it depends on and leaves the others asleep", () => {
  const sleep = [
    { task: 1, footprint: fp("x") },
    { task: 2, footprint: fp("y") },
  ];
  const after = sleepAfter(sleep, fp("x"));
  assert.equal(isAsleep(after, 1), false);
  assert.equal(isAsleep(after, 2), true);
  assert.deepEqual(sleepAfter(sleep, opaque), []);
  assert.deepEqual(sleepAfter(sleep, null), []);
});
