/**
 * The odpsim command as a user runs it, for the CLI tests: bin/odpsim.js (with the flag its
 * shebang line gives node), colours off; one that hangs is killed (code null).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/odpsim.js", import.meta.url));

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command still running after this long hangs: it is killed and its code is null. */
const HANG_MS = 300_000;

export function odpsim(...args: string[]): CommandResult {
  return odpsimWithEnv(process.env, ...args);
}

/** odpsim run with `env` as its whole environment (plus colours off). */
export function odpsimWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): CommandResult {
  const r = spawnSync(process.execPath, ["--single-threaded-gc", BIN, ...args], {
    encoding: "utf8",
    env: { ...env, NO_COLOR: "1" },
    timeout: HANG_MS,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * An explore or merge JSON answer without what differs between runs of one search: its
 * wall-clock seconds, and how a merge was split.
 */
export function comparableAnswer(a: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...a };
  delete rest.seconds;
  delete rest.merge;
  return rest;
}
