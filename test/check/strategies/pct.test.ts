import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../../src/check/explore.ts";
import { runScenario } from "../../../src/check/scenario.ts";
import { Pct } from "../../../src/check/strategies/pct.ts";
import { flagRace, interleavingsScenario } from "../../../src/check/toy/index.ts";
import { Prng } from "../../../src/sim/rng.ts";
import type { Task } from "../../../src/sim/task.ts";

test("PCT draws depth-1 distinct change points in [0, k) with priorities 1..d-1", () => {
  const pct = new Pct({ depth: 4, choices: 10 });
  pct.start({ seed: 3, rng: new Prng(3) });
  const points = pct.changePointChoices();
  assert.equal(points.size, 3);
  assert.deepEqual([...points.values()].sort(), [1, 2, 3]);
  for (const step of points.keys()) assert.ok(step >= 0 && step < 10);
});

test("PCT with depth 1 runs each task to completion (no change points)", () => {
  const scenario = interleavingsScenario(3, 4);
  for (let seed = 0; seed < 20; seed++) {
    const { result } = runScenario(scenario, { seed, strategy: new Pct({ depth: 1 }) });
    const switches = result.schedule.filter((id, i) => i > 0 && id !== result.schedule[i - 1]);
    assert.equal(switches.length, 2, `seed ${seed}: ${result.schedule.join(",")}`);
  }
});

test("PCT is deterministic for a seed", () => {
  const run = () =>
    runScenario(flagRace, { seed: 11, strategy: new Pct({ depth: 3, choices: 40 }) }).result
      .schedule;
  assert.deepEqual(run(), run());
});

test("PCT finds the depth-2 flag race sooner than uniform random on seeds 0..3999, and 5x as often", () => {
  const range = { schedules: 4000, seed: 0 } as const;
  const pct = explore(flagRace, { ...range, strategy: "pct", pctDepth: 3 });
  const random = explore(flagRace, { ...range, strategy: "random" });
  assert.ok(pct.found && pct.schedulesToFind !== null);
  assert.ok(pct.schedulesToFind <= 200, `PCT needed ${pct.schedulesToFind}`);
  const randomNeeds = random.schedulesToFind ?? Infinity;
  assert.ok(
    randomNeeds > pct.schedulesToFind,
    `random needed ${randomNeeds}, PCT ${pct.schedulesToFind}`,
  );
  // Not a lucky first hit: over the whole range PCT fails at least 5x as often.
  const all = { ...range, stopAtFirst: false } as const;
  const pctHits = explore(flagRace, { ...all, strategy: "pct", pctDepth: 3 }).failingIndices;
  const randomHits = explore(flagRace, { ...all, strategy: "random" }).failingIndices;
  assert.ok(
    pctHits.length >= 5 * Math.max(1, randomHits.length),
    `${pctHits.length} vs ${randomHits.length}`,
  );
});

test("PCT spends change points only where more than one task can run", () => {
  // The change point is choice 0. Steps where one task can run come first for `padded`
  // and not at all for `bare`: they must not use the point up, so both drop the same
  // task at the first choice (the one with the higher priority, either task by seed).
  const [a, b] = [{ id: 0 }, { id: 1 }] as unknown as [Task, Task];
  const picked = new Set<number>();
  for (let seed = 0; seed < 50; seed++) {
    const [padded, bare] = [new Pct({ depth: 2, choices: 1 }), new Pct({ depth: 2, choices: 1 })];
    for (const pct of [padded, bare]) {
      pct.start({ seed, rng: new Prng(seed) });
      pct.onSpawn(a);
      pct.onSpawn(b);
    }
    for (let i = 0; i < 3; i++) assert.equal(padded.pick([a], i, false), a);
    const first = padded.pick([a, b], 3, false) as Task;
    assert.equal(first, bare.pick([a, b], 0, false), `seed ${seed}`);
    picked.add(first.id);
  }
  assert.deepEqual([...picked].sort(), [0, 1]);
});
