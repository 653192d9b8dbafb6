// Tests for src/mm/intervalTree.ts: fast-check runs random insert/remove/query sequences
// against a naive array model, checking the tree's invariants after every step, plus
// unit tests for the edge cases the kernel's users rely on.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IntervalTree, type IntervalTreeNode } from "../../src/mm/intervalTree.ts";

type Op =
  | { readonly kind: "insert"; readonly start: number; readonly len: number }
  | { readonly kind: "remove"; readonly pick: number }
  | { readonly kind: "query"; readonly start: number; readonly len: number };

interface ModelEntry {
  readonly id: number;
  readonly start: number;
  readonly last: number;
  readonly handle: IntervalTreeNode<number>;
}

// A small domain makes overlaps, touching endpoints and duplicate intervals common.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      start: fc.integer({ min: 0, max: 60 }),
      len: fc.integer({ min: 0, max: 12 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("query" as const),
      start: fc.integer({ min: -2, max: 75 }),
      len: fc.integer({ min: 0, max: 25 }),
    }),
  },
);

/** The ids overlapping [start, last] via iterFirst/iterNext, in the tree's order. */
function iterate(tree: IntervalTree<number>, start: number, last: number): number[] {
  const out: number[] = [];
  for (let n = tree.iterFirst(start, last); n !== null; n = tree.iterNext(n, start, last)) {
    out.push(n.value);
  }
  return out;
}

/** The model's answer: overlapping entries sorted by start, ties in insertion order. */
function modelQuery(model: readonly ModelEntry[], start: number, last: number): number[] {
  return model
    .filter((e) => e.start <= last && start <= e.last)
    .sort((a, b) => a.start - b.start || a.id - b.id) // ids grow with insertion
    .map((e) => e.id);
}

/** Runs `ops` on a fresh tree and the model, comparing them after every step. */
function runAgainstModel(ops: readonly Op[]): IntervalTree<number> {
  const tree = new IntervalTree<number>();
  let model: ModelEntry[] = [];
  let nextId = 0;
  for (const op of ops) {
    if (op.kind === "insert") {
      const id = nextId++;
      const handle = tree.insert(op.start, op.start + op.len, id);
      assert.equal(handle.start, op.start);
      assert.equal(handle.last, op.start + op.len);
      assert.equal(handle.value, id);
      model.push({ id, start: op.start, last: op.start + op.len, handle });
    } else if (op.kind === "remove") {
      if (model.length === 0) continue;
      const victim = model[op.pick % model.length];
      assert.ok(victim !== undefined);
      tree.remove(victim.handle);
      model = model.filter((e) => e !== victim);
    } else {
      const last = op.start + op.len;
      const expected = modelQuery(model, op.start, last);
      assert.deepEqual(iterate(tree, op.start, last), expected);
      assert.equal(tree.countOverlaps(op.start, last), expected.length);
      const viaCallback: number[] = [];
      tree.forEachOverlap(op.start, last, (n) => {
        viaCallback.push(n.value);
      });
      assert.deepEqual(viaCallback, expected);
    }
    tree.checkInvariants();
    assert.equal(tree.size, model.length);
    assert.equal(tree.isEmpty(), model.length === 0);
  }
  // A query covering everything must list every live interval in order.
  assert.deepEqual(iterate(tree, -10, 1000), modelQuery(model, -10, 1000));
  return tree;
}

test("random insert/remove/query sequences match the array model", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300, size: "max" }), (ops) => {
      runAgainstModel(ops);
    }),
    { numRuns: 500 },
  );
});

test("remove-heavy sequences that drain the tree keep every invariant", () => {
  const drainArb = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 8 })), {
      minLength: 1,
      maxLength: 200,
      size: "max",
    })
    .chain((intervals) =>
      fc.tuple(fc.constant(intervals), fc.shuffledSubarray(intervals.map((_, i) => i))),
    );
  fc.assert(
    fc.property(drainArb, ([intervals, order]) => {
      const ops: Op[] = intervals.map(([start, len]) => ({ kind: "insert", start, len }));
      // Removing by position in a shrinking list: pick the index the permutation names.
      const live = intervals.map((_, i) => i);
      for (const idx of order) {
        const pos = live.indexOf(idx);
        live.splice(pos, 1);
        ops.push({ kind: "remove", pick: pos });
      }
      runAgainstModel(ops);
    }),
    { numRuns: 200 },
  );
});

test("the same operations give the same iteration order", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 100, size: "max" }), (ops) => {
      const a = runAgainstModel(ops);
      const b = runAgainstModel(ops);
      assert.deepEqual(iterate(a, -10, 1000), iterate(b, -10, 1000));
    }),
    { numRuns: 100 },
  );
});

test("an empty tree has nothing to find", () => {
  const tree = new IntervalTree<string>();
  assert.equal(tree.size, 0);
  assert.equal(tree.isEmpty(), true);
  assert.equal(tree.iterFirst(0, Number.MAX_SAFE_INTEGER), null);
  assert.equal(tree.countOverlaps(-5, 5), 0);
  tree.forEachOverlap(0, 10, () => {
    assert.fail("callback on an empty tree");
  });
  tree.checkInvariants();
});

test("intervals are closed: touching endpoints overlap", () => {
  const tree = new IntervalTree<string>();
  tree.insert(5, 10, "a");
  tree.insert(7, 7, "point");
  assert.equal(tree.countOverlaps(10, 20), 1); // shares the single point 10
  assert.equal(tree.countOverlaps(0, 5), 1); // shares the single point 5
  assert.equal(tree.countOverlaps(11, 20), 0);
  assert.equal(tree.countOverlaps(0, 4), 0);
  assert.equal(tree.countOverlaps(7, 7), 2);
  assert.equal(tree.countOverlaps(8, 8), 1);
});

test("duplicate intervals are separate nodes, listed in insertion order", () => {
  const tree = new IntervalTree<string>();
  const a = tree.insert(1, 3, "a");
  const b = tree.insert(1, 3, "b");
  tree.insert(1, 3, "c");
  tree.insert(0, 9, "wide");
  const values = (): string[] => {
    const out: string[] = [];
    tree.forEachOverlap(2, 2, (n) => {
      out.push(n.value);
    });
    return out;
  };
  assert.deepEqual(values(), ["wide", "a", "b", "c"]);
  tree.remove(b);
  assert.deepEqual(values(), ["wide", "a", "c"]);
  tree.remove(a);
  tree.insert(1, 3, "d");
  assert.deepEqual(values(), ["wide", "c", "d"]);
  tree.checkInvariants();
});

test("invalid intervals are rejected with a RangeError", () => {
  const tree = new IntervalTree<null>();
  assert.throws(() => tree.insert(5, 4, null), {
    name: "RangeError",
    message: /last \(4\) is before start \(5\)/,
  });
  for (const [start, last] of [
    [1.5, 3],
    [0, 2.25],
    [Number.NaN, 1],
    [0, Number.POSITIVE_INFINITY],
    [2 ** 53, 2 ** 53 + 2],
  ] as const) {
    assert.throws(() => tree.insert(start, last, null), {
      name: "RangeError",
      message: /must be safe integers/,
    });
  }
  assert.throws(() => tree.iterFirst(3, 2), { name: "RangeError", message: /before start/ });
  assert.throws(() => tree.countOverlaps(Number.NaN, 2), { name: "RangeError" });
  assert.equal(tree.size, 0);
  tree.checkInvariants();
});

test("removing a node that is not in the tree throws", () => {
  const tree = new IntervalTree<number>();
  const other = new IntervalTree<number>();
  const n = tree.insert(1, 2, 1);
  const foreign = other.insert(1, 2, 2);
  assert.throws(() => {
    tree.remove(foreign);
  }, /not in this tree/);
  assert.throws(() => {
    tree.remove({ start: 1, last: 2, value: 1 });
  }, /not in this tree/);
  tree.remove(n);
  assert.throws(() => {
    tree.remove(n);
  }, /not in this tree/);
  assert.equal(tree.size, 0);
  assert.equal(other.size, 1);
  tree.checkInvariants();
  other.checkInvariants();
});

test("removal during iteration: unsupported, but a removed cursor is detected", () => {
  const tree = new IntervalTree<number>();
  for (let i = 0; i < 20; i++) tree.insert(i, i + 2, i);
  const first = tree.iterFirst(0, 100);
  assert.ok(first !== null);
  tree.remove(first);
  assert.throws(() => tree.iterNext(first, 0, 100), /not in this tree/);
});

test("fetching the next node before removing the current one drains the overlaps", () => {
  // The kernel's pattern (e.g. invalidating a range): advance first, then unlink.
  const tree = new IntervalTree<number>();
  for (let i = 0; i < 200; i++) tree.insert((i * 37) % 101, ((i * 37) % 101) + (i % 7), i);
  const expectedLeft = 200 - tree.countOverlaps(30, 60);
  let n = tree.iterFirst(30, 60);
  while (n !== null) {
    const next = tree.iterNext(n, 30, 60);
    tree.remove(n);
    n = next;
  }
  tree.checkInvariants();
  assert.equal(tree.countOverlaps(30, 60), 0);
  assert.equal(tree.size, expectedLeft);
});

test("sorted and reverse-sorted bulk inserts stay balanced", () => {
  const tree = new IntervalTree<number>();
  for (let i = 0; i < 5000; i++) tree.insert(i, i + 10, i);
  for (let i = 5000; i > 0; i--) tree.insert(i, i, -i);
  tree.checkInvariants(); // equal black heights on every path, so height <= 2 log2(n + 1)
  assert.equal(tree.size, 10000);
  assert.equal(tree.countOverlaps(100, 100), 11 + 1);
  assert.equal(tree.countOverlaps(0, Number.MAX_SAFE_INTEGER), 10000);
});
