/**
 * Reading a scenario file: YAML text → a validated `ScenarioSpec`, or a `ScenarioError`
 * pointing at the first problem.
 *
 * Models no kernel file. Three passes, each reporting the first problem in file order:
 * the YAML parser (syntax, duplicate keys), the zod schema (unknown keys, wrong types,
 * bad enum values), and validate.ts (names that refer to nothing, offsets outside their
 * mapping, designs and defects the model does not have).
 */
import { closest } from "./closest.ts";
import { composeYaml } from "./composeYaml.ts";
import { readFileSync } from "node:fs";
import type { z } from "zod";
import {
  PositionMap,
  ScenarioError,
  formatPath,
  type PathProblem,
  type SpecPath,
} from "./errors.ts";
import { OP_THREAD_KINDS } from "./opSpec.ts";
import { scenarioSchema, type ScenarioSpec } from "./schema.ts";
import { validateSpec } from "./validate.ts";

export interface ParsedScenario {
  readonly file: string;
  readonly spec: ScenarioSpec;
}

/** Reads and validates the scenario in `file`; throws ScenarioError. */
export function loadScenarioFile(file: string): ParsedScenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new ScenarioError(file, 1, 1, `cannot read the scenario file (${code})`);
  }
  return parseScenarioText(text, file);
}

/** Validates scenario `text`, naming it `file` in errors; throws ScenarioError. */
export function parseScenarioText(text: string, file: string): ParsedScenario {
  const yaml = composeYaml(text);
  const syntax = yaml.error;
  if (syntax !== null) {
    const pos = syntax.linePos?.[0] ?? yaml.lines.linePos(syntax.pos[0]);
    throw new ScenarioError(file, pos.line, pos.col, `YAML: ${firstLine(syntax.message)}`);
  }
  const positions = new PositionMap(file, yaml, yaml.lines);
  const raw = yaml.value;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ScenarioError(file, 1, 1, "a scenario is a YAML mapping (name, processes, ...)");
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, raw));
    throw positions.first(problems) ?? new ScenarioError(file, 1, 1, "invalid scenario");
  }
  const semantic = validateSpec(parsed.data);
  const first = positions.first(semantic);
  if (first !== null) throw first;
  return { file, spec: parsed.data };
}

function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

type Issue = z.core.$ZodIssue;

function where(path: SpecPath): string {
  return path.length === 0 ? "the scenario" : formatPath(path);
}

function valueAt(root: unknown, path: SpecPath): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "number" && !Number.isInteger(value)) return `${value} (not an integer)`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
  null: "nothing",
};

/** One zod issue as problems with human messages (a union may give its best branch). */
function describeIssue(issue: Issue, raw: unknown): PathProblem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  const value = valueAt(raw, path);
  switch (issue.code) {
    case "invalid_type": {
      if (value === undefined) {
        const key = path.at(-1);
        return [
          {
            path: path.slice(0, -1),
            message: `${where(path.slice(0, -1))}: missing "${String(key)}"`,
          },
        ];
      }
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return [
        { path, message: `${where(path)}: expected ${expected}, got ${describeValue(value)}` },
      ];
    }
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path, key, message: unknownKey(path, key) }));
    case "invalid_value":
      return [
        {
          path,
          message: `${where(path)}: ${describeValue(value)} is not one of ${issue.values.map(String).join(", ")}`,
        },
      ];
    case "too_small":
    case "too_big":
      return [{ path, message: `${where(path)}: ${boundMessage(issue, value)}` }];
    case "invalid_format":
      return [
        { path, message: `${where(path)}: expected ${issue.message}, got ${describeValue(value)}` },
      ];
    case "invalid_union":
      return describeUnion(issue.errors, path, value, raw);
    default:
      return [{ path, message: `${where(path)}: ${issue.message}` }];
  }
}

function boundMessage(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  value: unknown,
): string {
  const small = issue.code === "too_small";
  const bound = small ? issue.minimum : issue.maximum;
  if (Array.isArray(value)) {
    return `needs ${small ? "at least" : "at most"} ${String(bound)} item${bound === 1 ? "" : "s"}`;
  }
  if (typeof value === "string")
    return `needs ${small ? "at least" : "at most"} ${String(bound)} characters`;
  return `${describeValue(value)} is ${small ? "below the minimum" : "above the maximum"} ${String(bound)}`;
}

/** The branch that got furthest (deepest issue path) explains a failed union best. */
function describeUnion(
  branches: readonly (readonly Issue[])[],
  path: SpecPath,
  value: unknown,
  raw: unknown,
): PathProblem[] {
  if (typeof value === "string" && path.at(-2) === "ops") {
    return [
      {
        path,
        message: `${where(path)}: unknown operation "${value}" (without arguments only exit and oom_reap; others are written "- name: {...}")`,
      },
    ];
  }
  let best: readonly Issue[] | null = null;
  let depth = -1;
  for (const issues of branches) {
    const typeMismatch = issues.some((i) => i.code === "invalid_type" && i.path.length === 0);
    if (typeMismatch) continue;
    const d = Math.max(...issues.map((i) => i.path.length));
    if (d > depth) {
      best = issues;
      depth = d;
    }
  }
  if (best === null) {
    return [
      { path, message: `${where(path)}: expected an operation, got ${describeValue(value)}` },
    ];
  }
  return best.flatMap((i) => describeIssue({ ...i, path: [...path, ...i.path] }, raw));
}

/** An unknown key; inside an operation list it is an unknown operation (with a guess). */
function unknownKey(path: SpecPath, key: string): string {
  if (path.at(-2) !== "ops") return `${where(path)}: unknown key "${key}"`;
  const guess = closest(key, Object.keys(OP_THREAD_KINDS));
  return `${where(path)}: unknown operation "${key}"${guess === null ? "" : ` (did you mean ${guess}?)`}`;
}
