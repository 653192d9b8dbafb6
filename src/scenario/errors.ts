/**
 * Errors in scenario files, each pinned to a file, line and column.
 *
 * Models no kernel file. Every problem found in a scenario — a YAML syntax error, a key
 * the language does not have, a wrong type, a name that refers to nothing, an offset
 * outside its mapping — becomes one `ScenarioError` whose position is that of the YAML
 * node at fault, so the command line can print `FILE:LINE:COL: message` like a compiler.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

/** A path into the scenario, as zod reports it: keys and array indices. */
export type SpecPath = readonly (string | number)[];

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${col}: ${detail}`);
    this.name = "ScenarioError";
  }

  /** The one line the command line prints. */
  format(): string {
    return this.message;
  }
}

/** A problem found at a path, before it is given a position. */
export interface PathProblem {
  readonly path: SpecPath;
  readonly message: string;
  /** Point at this key of the map at `path` instead of at the map (an unknown key). */
  readonly key?: string;
}

/** Renders a path as `processes[0].threads[1].ops[2]`. */
export function formatPath(path: SpecPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

/** Maps paths in the parsed document back to source positions. */
export class PositionMap {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The offset where the node at `path` (or its nearest existing ancestor) starts. */
  offsetOf(path: SpecPath, key?: string): number {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (const part of path) {
      const next = child(node, part);
      if (next === undefined) break;
      node = next.node;
      offset = next.offset ?? offset;
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const at = pair === undefined ? undefined : rangeStart(pair.key);
      if (at !== undefined) return at;
    }
    return offset;
  }

  error(problem: PathProblem): ScenarioError {
    const { line, col } = this.lines.linePos(this.offsetOf(problem.path, problem.key));
    return new ScenarioError(this.file, line, col, problem.message);
  }

  /** The problem that comes first in the file (ties: the first reported). */
  first(problems: readonly PathProblem[]): ScenarioError | null {
    let best: { at: number; problem: PathProblem } | null = null;
    for (const problem of problems) {
      const at = this.offsetOf(problem.path, problem.key);
      if (best === null || at < best.at) best = { at, problem };
    }
    return best === null ? null : this.error(best.problem);
  }
}

function rangeStart(node: unknown): number | undefined {
  if (node === null || typeof node !== "object" || !("range" in node)) return undefined;
  const range = (node as Node).range;
  return range?.[0];
}

/** The child node at `part`, and where its value starts (the key, for a null value). */
function child(
  node: unknown,
  part: string | number,
): { node: unknown; offset?: number } | undefined {
  if (isSeq(node) && typeof part === "number") {
    const item: unknown = node.items[part];
    return item === undefined ? undefined : { node: item, offset: rangeStart(item) };
  }
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
    if (pair === undefined) return undefined;
    const value: unknown = pair.value;
    return { node: value, offset: rangeStart(value) ?? rangeStart(pair.key) };
  }
  return undefined;
}
