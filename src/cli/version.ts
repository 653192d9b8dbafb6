/**
 * odpsim's version, as package.json states it (the one place it is written).
 *
 * Models no kernel file.
 */
import { readFileSync } from "node:fs";

const packageJson = new URL("../../package.json", import.meta.url);

export const ODPSIM_VERSION = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string })
  .version;
