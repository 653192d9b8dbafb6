/**
 * Interval tree throughput: src/mm/intervalTree.ts against @flatten-js/interval-tree and
 * node-interval-tree on one identical, seeded workload. Each repetition builds a fresh
 * tree of 100k intervals (untimed), then times a mixed sequence of inserts, removes,
 * counting queries and collecting queries. All three must report the same overlap total
 * and value checksum, or the bench throws: a fast wrong answer is not a result.
 *
 * Wall-clock time (performance.now) is fine here: benchmarks are not simulation code.
 * Run alone with `npx tsx bench/itree.bench.ts`.
 */
import { pathToFileURL } from "node:url";
import FlattenIntervalTree from "@flatten-js/interval-tree";
import { IntervalTree as NitIntervalTree } from "node-interval-tree";
import type { BenchResult } from "./result.ts";
import { IntervalTree, type IntervalTreeNode } from "../src/mm/intervalTree.ts";

const INITIAL = 100_000;
const OPS = 50_000;
const REPS = 3;
const DOMAIN = 100_000_000;
const SEED = 0x1badb002;

const OP_INSERT = 0;
const OP_REMOVE = 1;
const OP_COUNT = 2;
const OP_COLLECT = 3;

/** xorshift32: a tiny deterministic generator, so every run sees the same workload. */
function xorshift32(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** The whole workload as flat typed arrays, generated once and replayed by everyone. */
interface Workload {
  /** Interval `id` is [starts[id], lasts[id]]; its value is `id`. */
  readonly starts: Float64Array;
  readonly lasts: Float64Array;
  readonly kinds: Uint8Array;
  /** Insert/remove: the interval id. Queries: the query start. */
  readonly argA: Float64Array;
  /** Queries: the query last. */
  readonly argB: Float64Array;
}

function makeWorkload(): Workload {
  const next = xorshift32(SEED);
  const total = INITIAL + OPS; // an upper bound on intervals ever inserted
  const starts = new Float64Array(total);
  const lasts = new Float64Array(total);
  // Mostly short intervals (pages of a registration) with a tail of long ones.
  const makeInterval = (id: number): void => {
    const start = next() % DOMAIN;
    const len = next() % 10 === 0 ? next() % 200_000 : next() % 5_000;
    starts[id] = start;
    lasts[id] = start + len;
  };
  const live: number[] = [];
  let nextId = 0;
  for (; nextId < INITIAL; nextId++) {
    makeInterval(nextId);
    live.push(nextId);
  }
  const kinds = new Uint8Array(OPS);
  const argA = new Float64Array(OPS);
  const argB = new Float64Array(OPS);
  for (let i = 0; i < OPS; i++) {
    const roll = next() % 10; // 20% insert, 20% remove, 30% count, 30% collect
    if (roll < 2) {
      makeInterval(nextId);
      live.push(nextId);
      kinds[i] = OP_INSERT;
      argA[i] = nextId++;
    } else if (roll < 4) {
      const at = next() % live.length;
      kinds[i] = OP_REMOVE;
      argA[i] = live[at] ?? -1;
      live[at] = live[live.length - 1] ?? -1; // swap-remove keeps the pick O(1)
      live.pop();
    } else {
      const start = next() % DOMAIN;
      kinds[i] = roll < 7 ? OP_COUNT : OP_COLLECT;
      argA[i] = start;
      argB[i] = start + (next() % 20_000);
    }
  }
  return { starts, lasts, kinds, argA, argB };
}

/** What one replay saw: both must agree across implementations. */
interface Outcome {
  readonly ms: number;
  /** Overlaps counted plus overlaps collected. */
  readonly overlaps: number;
  /** Sum of the collected values (ids), an order-independent check of what was found. */
  readonly valueSum: number;
}

/** The three contenders, behind one replay loop each so every loop stays monomorphic. */
function runOurs(w: Workload): Outcome {
  const tree = new IntervalTree<number>();
  const handles: (IntervalTreeNode<number> | undefined)[] = [];
  for (let id = 0; id < INITIAL; id++)
    handles[id] = tree.insert(w.starts[id] ?? 0, w.lasts[id] ?? 0, id);
  let overlaps = 0;
  let valueSum = 0;
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const kind = w.kinds[i];
    const a = w.argA[i] ?? 0;
    const b = w.argB[i] ?? 0;
    if (kind === OP_INSERT) {
      handles[a] = tree.insert(w.starts[a] ?? 0, w.lasts[a] ?? 0, a);
    } else if (kind === OP_REMOVE) {
      const h = handles[a];
      if (h === undefined) throw new Error(`ours: no handle for interval ${a}`);
      tree.remove(h);
      handles[a] = undefined;
    } else if (kind === OP_COUNT) {
      overlaps += tree.countOverlaps(a, b);
    } else {
      const found: number[] = [];
      for (let n = tree.iterFirst(a, b); n !== null; n = tree.iterNext(n, a, b))
        found.push(n.value);
      overlaps += found.length;
      for (const v of found) valueSum += v;
    }
  }
  return { ms: performance.now() - t0, overlaps, valueSum };
}

/**
 * The part of @flatten-js/interval-tree's API used here. Its published .d.ts files use
 * extensionless relative imports that NodeNext resolution cannot follow, so TypeScript
 * sees the class as an error type; this restores checking at the call sites.
 */
interface FlattenTree {
  insert(key: [number, number], value: number): unknown;
  remove(key: [number, number], value: number): unknown;
  search(interval: [number, number]): number[];
}
const Flatten = FlattenIntervalTree as unknown as new () => FlattenTree;

function runFlatten(w: Workload): Outcome {
  const tree = new Flatten();
  for (let id = 0; id < INITIAL; id++) tree.insert([w.starts[id] ?? 0, w.lasts[id] ?? 0], id);
  let overlaps = 0;
  let valueSum = 0;
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const kind = w.kinds[i];
    const a = w.argA[i] ?? 0;
    const b = w.argB[i] ?? 0;
    if (kind === OP_INSERT) {
      tree.insert([w.starts[a] ?? 0, w.lasts[a] ?? 0], a);
    } else if (kind === OP_REMOVE) {
      if (tree.remove([w.starts[a] ?? 0, w.lasts[a] ?? 0], a) === undefined) {
        throw new Error(`flatten: interval ${a} was not found to remove`);
      }
    } else if (kind === OP_COUNT) {
      // No counting API: the result array's length is the cheapest count it offers.
      overlaps += tree.search([a, b]).length;
    } else {
      const found = tree.search([a, b]);
      overlaps += found.length;
      for (const v of found) valueSum += v;
    }
  }
  return { ms: performance.now() - t0, overlaps, valueSum };
}

interface NitRecord {
  readonly low: number;
  readonly high: number;
  readonly data: number;
}

function runNit(w: Workload): Outcome {
  const tree = new NitIntervalTree<NitRecord>();
  const record = (id: number): NitRecord => ({
    low: w.starts[id] ?? 0,
    high: w.lasts[id] ?? 0,
    data: id,
  });
  for (let id = 0; id < INITIAL; id++) tree.insert(record(id));
  let overlaps = 0;
  let valueSum = 0;
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const kind = w.kinds[i];
    const a = w.argA[i] ?? 0;
    const b = w.argB[i] ?? 0;
    if (kind === OP_INSERT) {
      tree.insert(record(a));
    } else if (kind === OP_REMOVE) {
      // Removal matches records field by field, so a fresh equal record finds it.
      if (!tree.remove(record(a))) throw new Error(`node-interval-tree: interval ${a} not removed`);
    } else if (kind === OP_COUNT) {
      overlaps += tree.search(a, b).length;
    } else {
      // The records array it returns is its collected result; each carries the value.
      const found = tree.search(a, b);
      overlaps += found.length;
      for (const r of found) valueSum += r.data;
    }
  }
  return { ms: performance.now() - t0, overlaps, valueSum };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Replays the workload REPS times per implementation (interleaved) and compares. */
export async function itreeBenchmarks(): Promise<BenchResult[]> {
  const w = makeWorkload();
  const runners = { ours: runOurs, flatten: runFlatten, nit: runNit } as const;
  const names = Object.keys(runners) as (keyof typeof runners)[];
  const times = { ours: [] as number[], flatten: [] as number[], nit: [] as number[] };
  let reference: Outcome | undefined;
  for (let rep = 0; rep < REPS; rep++) {
    for (const name of names) {
      const out = runners[name](w);
      reference ??= out;
      if (out.overlaps !== reference.overlaps || out.valueSum !== reference.valueSum) {
        throw new Error(
          `itree bench: ${name} found ${out.overlaps} overlaps (value sum ${out.valueSum}), ` +
            `expected ${reference.overlaps} (value sum ${reference.valueSum})`,
        );
      }
      times[name].push(out.ms);
      // Let timers and GC settle between runs without holding the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const opsPerSec = (ms: readonly number[]): number => OPS / (median(ms) / 1000);
  const ours = opsPerSec(times.ours);
  const flatten = opsPerSec(times.flatten);
  const nit = opsPerSec(times.nit);
  const ratio = ours / flatten;
  return [
    { id: "itree.query_mix.ops_per_sec", value: ours, unit: "ops/s", baseline: flatten, ratio },
    { id: "itree.query_mix.ratio_vs_flatten", value: ratio, unit: "x" },
    { id: "itree.query_mix.ops_per_sec.flatten", value: flatten, unit: "ops/s" },
    { id: "itree.query_mix.ops_per_sec.node_interval_tree", value: nit, unit: "ops/s" },
  ];
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  for (const r of await itreeBenchmarks()) {
    const vs = r.ratio === undefined ? "" : `  (${r.ratio.toFixed(2)}x flatten)`;
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString("en-US") : r.value.toFixed(2);
    process.stdout.write(`${r.id.padEnd(48)} ${v} ${r.unit}${vs}\n`);
  }
}
