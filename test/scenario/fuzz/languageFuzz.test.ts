/**
 * The scenario-language fuzz's fixed-seed sample: generated programs of every design,
 * no defects, one random schedule each, and not one odpsim exception. A failure prints
 * the shrunk program as a scenario file (`npm run fuzz -- --seed 20261202 --runs 400`
 * writes it to fuzz/out/).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { languageFuzz } from "../../../src/scenario/fuzz/languageFuzz.ts";
import { scenarioText } from "../../../src/scenario/fuzz/scenarioText.ts";

test("400 generated programs under a random schedule each: no internal error", () => {
  const r = languageFuzz({ runs: 400, seed: 20261202, schedules: 1, maxShrinks: 50 });
  const errors = r.failures.filter((f) => f.type === "internal_error");
  const shown = errors.map((f) => `${f.key}\n${scenarioText(f.spec)}`).join("\n---\n");
  assert.equal(r.internalErrors, 0, shown);
  assert.equal(r.programs, 400);
  assert.ok(r.schedulesRun >= 400);
});
