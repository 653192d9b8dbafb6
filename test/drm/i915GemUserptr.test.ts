import assert from "node:assert/strict";
import { test } from "node:test";
import {
  i915GemUserptrInitMmuNotifier,
  i915GemUserptrSetActive,
  i915MmuNotifierCreate,
} from "../../src/drm/i915GemUserptr.ts";
import { EAGAIN } from "../../src/sim/errno.ts";
import type { KGen } from "../../src/sim/task.ts";
import { g, invalidate, runOk, setup } from "../mm/notifier/fixture.ts";

const PAGE = 0x1000;

test("the userptr notifier refuses a non-blockable range over an active object, and has no end", () => {
  const { k, mm } = setup({ seed: 1 });
  k.spawn("t", g, function* (): KGen {
    const mn = yield* i915MmuNotifierCreate(k, mm);
    assert.ok(typeof mn !== "number");
    assert.equal(mn.mn.ops.invalidateRangeEnd, undefined);
    const mo = i915GemUserptrInitMmuNotifier(mn, 4 * PAGE, 2 * PAGE);
    // Not active yet: nothing to refuse.
    assert.equal(yield* invalidate(mm, 4 * PAGE, 6 * PAGE, { blockable: false }), 0);
    yield* i915GemUserptrSetActive(mo, true);
    assert.equal(yield* invalidate(mm, 5 * PAGE, 7 * PAGE, { blockable: false }), EAGAIN);
    // A range that ends where the object starts does not overlap it.
    assert.equal(yield* invalidate(mm, 0, 4 * PAGE, { blockable: false }), 0);
    assert.notEqual(mo.node, null);
  });
  runOk(k);
});

test("a blockable invalidation puts the object's pages: it leaves the tree", () => {
  const { k, mm } = setup({ seed: 2 });
  k.spawn("t", g, function* (): KGen {
    const mn = yield* i915MmuNotifierCreate(k, mm);
    assert.ok(typeof mn !== "number");
    const a = i915GemUserptrInitMmuNotifier(mn, 0, PAGE);
    const b = i915GemUserptrInitMmuNotifier(mn, 8 * PAGE, PAGE);
    yield* i915GemUserptrSetActive(a, true);
    yield* i915GemUserptrSetActive(b, true);
    assert.equal(yield* invalidate(mm, 0, 2 * PAGE), 0);
    assert.equal(a.node, null);
    assert.notEqual(b.node, null);
    // With the overlapping object gone, a non-blockable range there is accepted.
    assert.equal(yield* invalidate(mm, 0, 2 * PAGE, { blockable: false }), 0);
  });
  runOk(k);
});
