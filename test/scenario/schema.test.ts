/**
 * The committed JSON Schema is the one the zod schema generates (run `npm run schema`
 * after changing src/scenario/schema.ts), and it describes the language editors see.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SCHEMA_PATH, scenarioSchemaText } from "../../src/scenario/emitSchema.ts";

test("schema/scenario.schema.json is up to date (npm run schema)", () => {
  assert.equal(readFileSync(SCHEMA_PATH, "utf8"), scenarioSchemaText());
});

test("the JSON Schema rejects unknown keys and lists the operations", () => {
  const schema = JSON.parse(scenarioSchemaText()) as {
    additionalProperties: boolean;
    required: string[];
  };
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ["name", "processes"]);
  const ops = ["cpu_write", "dma_read", "munmap", "fork", "dereg_mr", "oom_reap", "device_remove"];
  for (const op of [...ops, "post_send", "post_recv", "poll_cq"])
    assert.ok(scenarioSchemaText().includes(`"${op}"`), op);
});
