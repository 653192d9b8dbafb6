/**
 * The fuzz strategies (src/scenario/fuzz/strategies.ts): blind draws every program fresh;
 * feedback keeps programs that brought new coverage and mutates them, seeing only the
 * programs below its batch, so it is a function of its seed and of what it was told, and
 * a campaign refuses to split it over partitions (its result would depend on the split).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { seedFor } from "../../../src/check/seedFor.ts";
import type { ProgramGene } from "../../../src/scenario/generate/programGene.ts";
import { runCampaign } from "../../../src/scenario/fuzz/campaign.ts";
import {
  DEFAULT_FUZZ_STRATEGY,
  FUZZ_STRATEGY_NAMES,
  fuzzStrategy,
  isFuzzStrategyName,
} from "../../../src/scenario/fuzz/strategies.ts";
import { FUZZ_BATCH, type FuzzStrategy } from "../../../src/scenario/fuzz/strategy.ts";

const SWARM = { designs: ["classic"] };
const SEED = 11;
const passes = (): null => null;

interface Drawn {
  readonly gene: ProgramGene;
  readonly origin: string;
}

/**
 * Programs 0..n-1 of `strategy`, each told, once drawn, that it reached `coverage(i)`.
 */
function draw(strategy: FuzzStrategy, n: number, coverage: (i: number) => string[]): Drawn[] {
  return Array.from({ length: n }, (_, i) => {
    const d = strategy.program(i, seedFor(SEED, i), passes, 0);
    strategy.observe(i, d.original, new Set(coverage(i)));
    return { gene: d.original, origin: d.origin };
  });
}

/** Every program brings an element of its own: each is new coverage. */
const allNew = (i: number) => [`element ${i}`];

test("the registry names blind and feedback, and blind is the default", () => {
  assert.deepEqual([...FUZZ_STRATEGY_NAMES], ["blind", "feedback"]);
  assert.equal(DEFAULT_FUZZ_STRATEGY, "blind");
  assert.ok(isFuzzStrategyName("feedback"));
  assert.ok(!isFuzzStrategyName("nope"));
});

test("feedback mutates kept programs once a batch has brought new coverage", () => {
  const n = 3 * FUZZ_BATCH;
  const blind = draw(fuzzStrategy("blind", SWARM), n, allNew);
  const fed = draw(fuzzStrategy("feedback", SWARM), n, allNew);
  // The first batch sees no corpus: it is the blind strategy's programs.
  assert.deepEqual(
    fed.slice(0, FUZZ_BATCH).map((d) => d.gene),
    blind.slice(0, FUZZ_BATCH).map((d) => d.gene),
  );
  const mutants = fed.slice(FUZZ_BATCH).filter((d) => d.origin.startsWith("mutant of program"));
  assert.ok(mutants.length > 0, "later batches mutate the corpus");
  assert.ok(blind.every((d) => d.origin === "fresh"));
});

test("feedback mutants keep to the swarm's operation kinds and fault sites", () => {
  const ops = ["mmap", "munmap", "madvise"] as const;
  const fed = draw(
    fuzzStrategy("feedback", { ...SWARM, ops, faultSites: [] }),
    4 * FUZZ_BATCH,
    allNew,
  );
  const mutants = fed.filter((d) => d.origin !== "fresh");
  assert.ok(mutants.length > FUZZ_BATCH, "most programs after the first batch are mutants");
  for (const d of fed) {
    assert.deepEqual(d.gene.faultSites, [], `${d.origin} program enables a fault site`);
    for (const op of d.gene.ops) assert.ok(ops.includes(op as (typeof ops)[number]), op);
  }
});

test("feedback with nothing new to keep draws the blind programs", () => {
  const n = 2 * FUZZ_BATCH;
  const blind = draw(fuzzStrategy("blind", SWARM), n, () => []);
  const fed = draw(fuzzStrategy("feedback", SWARM), n, () => []);
  assert.deepEqual(
    fed.map((d) => d.gene),
    blind.map((d) => d.gene),
  );
});

test("feedback is a function of the seed and what it was told", () => {
  const n = 3 * FUZZ_BATCH;
  const a = draw(fuzzStrategy("feedback", SWARM), n, allNew);
  const b = draw(fuzzStrategy("feedback", SWARM), n, allNew);
  assert.deepEqual(a, b);
  // Told about only the even programs, it keeps another corpus and draws other programs.
  const evens = draw(fuzzStrategy("feedback", SWARM), n, (i) => (i % 2 === 0 ? allNew(i) : []));
  assert.notDeepEqual(
    evens.map((d) => d.gene),
    a.map((d) => d.gene),
  );
});

test("a program sees no coverage of its own batch", () => {
  const told = fuzzStrategy("feedback", SWARM);
  const untold = fuzzStrategy("feedback", SWARM);
  draw(told, FUZZ_BATCH, allNew);
  draw(untold, FUZZ_BATCH, allNew);
  // Batch 1: `told` hears of each program at once, `untold` never; both keep batch 0's corpus.
  const batch = (s: FuzzStrategy, tell: boolean) =>
    Array.from({ length: FUZZ_BATCH }, (_, k) => {
      const i = FUZZ_BATCH + k;
      const d = s.program(i, seedFor(SEED, i), passes, 0);
      if (tell) s.observe(i, d.original, new Set(allNew(i)));
      return { gene: d.original, origin: d.origin };
    });
  const a = batch(told, true);
  const b = batch(untold, false);
  assert.ok(
    a.some((d) => d.origin.startsWith("mutant")),
    "the batch mutates the corpus",
  );
  assert.deepEqual(a, b);
});

test("a feedback campaign is not split over partitions", () => {
  assert.throws(
    () =>
      runCampaign({
        design: "classic",
        defects: [],
        seed: 0,
        programs: 4,
        strategy: "feedback",
        partition: { modulus: 2, residue: 0 },
      }),
    /feedback strategy runs every program in one partition/,
  );
});
