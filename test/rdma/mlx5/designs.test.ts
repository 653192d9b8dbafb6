import { test } from "node:test";
import assert from "node:assert/strict";
import { Kernel } from "../../../src/sim/kernel.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import { pairsEndsOnFailedStart } from "../../../src/mm/notifier/srcu.ts";
import { classicMlx5Odp } from "../../../src/rdma/mlx5/odp/classicOdp.ts";
import {
  DEFAULT_MLX5_ODP_DESIGN,
  MLX5_ODP_DESIGN_NAMES,
  MLX5_ODP_DESIGNS,
  mlx5OdpDesign,
  mlx5OdpDesignProblem,
  setupMlx5OdpDesign,
} from "../../../src/rdma/mlx5/odp/designs.ts";

test("every registered design is found under its core design's name", () => {
  for (const name of MLX5_ODP_DESIGN_NAMES) {
    assert.equal(mlx5OdpDesign(name), MLX5_ODP_DESIGNS[name]);
    assert.equal(mlx5OdpDesign(name).core.name, name);
    assert.equal(mlx5OdpDesignProblem(name), null);
  }
});

test("no name means the default design, classic", () => {
  assert.equal(DEFAULT_MLX5_ODP_DESIGN, "classic");
  assert.equal(mlx5OdpDesign(), classicMlx5Odp);
});

test("an unknown design is one line naming it and every known design", () => {
  const line = 'unknown mlx5 ODP design "nope"; known: classic, hmm-mirror, interval';
  assert.equal(mlx5OdpDesignProblem("nope"), line);
  assert.throws(() => mlx5OdpDesign("nope"), { message: line });
  // Not a prototype property either.
  assert.throws(() => mlx5OdpDesign("toString"), /unknown mlx5 ODP design "toString"/);
});

test("setting a design up puts the kernel in its era", () => {
  const k = new Kernel({ seed: 0, strategy: new FirstRunnable() });
  assert.equal(pairsEndsOnFailedStart(k), true);
  assert.equal(setupMlx5OdpDesign(k, "classic"), classicMlx5Odp);
  assert.equal(pairsEndsOnFailedStart(k), false);
});
