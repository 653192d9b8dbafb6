/**
 * Writes schema/scenario.schema.json from the zod schema (`npm run schema`).
 *
 * Models no kernel file. The committed file is what editors load through the
 * `# yaml-language-server: $schema=...` comment; a test fails when it is out of date.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { scenarioJsonSchema } from "./schema.ts";

/** The file's text: the schema as stable, indented JSON. */
export function scenarioSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}

export const SCHEMA_PATH = fileURLToPath(
  new URL("../../schema/scenario.schema.json", import.meta.url),
);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_PATH, scenarioSchemaText());
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
}
