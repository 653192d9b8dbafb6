import assert from "node:assert/strict";
import { test } from "node:test";
import { VirtualClock } from "../../src/sim/clock.ts";

test("clock: timers fire in time order, ties in arming order", () => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  clock.arm(30, () => fired.push("c@30"));
  clock.arm(10, () => fired.push("a@10"));
  clock.arm(10, () => fired.push("b@10"));
  assert.equal(clock.jumpToNextTimer(), true);
  assert.deepEqual(fired, ["a@10", "b@10"]);
  assert.equal(clock.now(), 10);
  assert.equal(clock.jumpToNextTimer(), true);
  assert.equal(clock.now(), 30);
  assert.equal(clock.jumpToNextTimer(), false);
  assert.deepEqual(fired, ["a@10", "b@10", "c@30"]);
});

test("clock: a cancelled timer never fires and does not move time", () => {
  const clock = new VirtualClock();
  let fired = false;
  const cancel = clock.arm(100, () => {
    fired = true;
  });
  cancel();
  assert.equal(clock.jumpToNextTimer(), false);
  assert.equal(clock.now(), 0);
  assert.equal(fired, false);
});

test("clock: advance makes timers due without firing them until asked", () => {
  const clock = new VirtualClock();
  let fired = 0;
  clock.arm(5, () => fired++);
  clock.advance(7);
  assert.equal(fired, 0);
  assert.equal(clock.hasDue(), true);
  clock.fireDue();
  assert.equal(fired, 1);
  assert.equal(clock.now(), 7);
});

test("clock: many timers come out sorted (heap order)", () => {
  const clock = new VirtualClock();
  const out: number[] = [];
  const delays = [50, 3, 99, 3, 0, 42, 17, 88, 1, 64, 5, 5];
  for (const d of delays) clock.arm(d, () => out.push(d));
  while (clock.jumpToNextTimer());
  assert.deepEqual(
    out,
    [...delays].sort((a, b) => a - b),
  );
});

test("clock: negative or non-finite durations are rejected", () => {
  const clock = new VirtualClock();
  assert.throws(() => {
    clock.advance(-1);
  }, /ns >= 0/);
  assert.throws(() => clock.arm(Number.NaN, () => undefined), /ns >= 0/);
});
