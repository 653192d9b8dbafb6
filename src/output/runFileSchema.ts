/**
 * Validation of a run file read from disk or fetched by the viewer.
 *
 * Models no kernel file. A run file comes from outside the process (a path on the
 * command line, a file dropped on the viewer), so it is checked before anything draws
 * it: a wrong version or a missing field is one clear message naming where it is.
 */
import { z } from "zod";
import { RUN_FILE_VERSION, type RunFile } from "./runFile.ts";

const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const entry = z.object({
  step: z.number().int().nonnegative(),
  timeNs: z.number().nonnegative(),
  task: z.number().int(),
  kind: z.enum(["step", "event"]),
  label: z.string(),
  fields: z.record(z.string(), fieldValue).optional(),
});

const task = z.object({
  id: z.number().int().nonnegative(),
  name: z.string(),
  group: z.object({ kind: z.string(), name: z.string() }),
  parent: z.number().int().nullable(),
});

const violation = z.object({
  kind: z.string(),
  message: z.string(),
  step: z.number().int().nonnegative(),
  timeNs: z.number().nonnegative(),
  task: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

const snapshot = z.object({
  step: z.number().int().nonnegative(),
  processes: z.array(
    z.object({
      pid: z.number().int(),
      name: z.string(),
      vmas: z.array(z.object({ start: z.number(), end: z.number(), flags: z.array(z.string()) })),
      pages: z.array(
        z.object({
          va: z.number(),
          pfn: z.number().nullable(),
          present: z.boolean(),
          writable: z.boolean(),
          dirty: z.boolean(),
        }),
      ),
    }),
  ),
  mrs: z.array(
    z.object({
      name: z.string(),
      lkey: z.number().int(),
      entries: z.array(
        z.object({
          va: z.number(),
          pfn: z.number().nullable(),
          read: z.boolean(),
          write: z.boolean(),
          stale: z.boolean(),
        }),
      ),
    }),
  ),
});

const runFileSchema = z.object({
  version: z.literal(RUN_FILE_VERSION),
  meta: z.object({
    scenario: z.string(),
    design: z.string(),
    defects: z.array(z.string()),
    seed: z.number(),
    strategy: z.string(),
    status: z.enum(["ok", "violation", "step_bound", "internal_error"]),
    steps: z.number().int().nonnegative(),
    timeNs: z.number().nonnegative(),
  }),
  tasks: z.array(task),
  entries: z.array(entry),
  violations: z.array(violation),
  internalError: z
    .object({ message: z.string(), step: z.number(), task: z.string().nullable() })
    .optional(),
  report: z.string().optional(),
  slice: z
    .object({
      steps: z.array(z.number().int().nonnegative()),
      windowStart: z.number().int().nonnegative(),
      setupEnd: z.number().int().nonnegative(),
      objects: z.array(z.string()),
      rows: z.array(
        z.object({
          step: z.number().int().nonnegative(),
          task: z.number().int(),
          text: z.string(),
        }),
      ),
    })
    .optional(),
  snapshots: z.array(snapshot),
});

/** The schema's type must stay assignable to the hand-written one. */
const toRunFile = (value: z.infer<typeof runFileSchema>): RunFile => value;

/** A run file that failed validation; `message` says where and what. */
export class RunFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunFileError";
  }
}

/** Checks a parsed JSON value; throws `RunFileError` naming the first problem. */
export function parseRunFile(value: unknown): RunFile {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RunFileError("not a run file: expected a JSON object");
  }
  const version = (value as { version?: unknown }).version;
  if (version !== RUN_FILE_VERSION) {
    throw new RunFileError(
      `unsupported run file version ${version === undefined ? "(missing)" : JSON.stringify(version)}: ` +
        `this odpsim reads version ${RUN_FILE_VERSION}`,
    );
  }
  const parsed = runFileSchema.safeParse(value);
  if (parsed.success) return toRunFile(parsed.data);
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
  throw new RunFileError(`invalid run file: ${where}${issue?.message ?? "unknown problem"}`);
}

/** Parses run-file text (JSON), with the same errors as `parseRunFile`. */
export function parseRunFileText(text: string): RunFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new RunFileError(`not JSON: ${why}`);
  }
  return parseRunFile(value);
}
