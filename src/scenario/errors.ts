/**
 * Errors in scenario files, each pinned to a file, line and column.
 *
 * Models no kernel file. Every problem found in a scenario — a YAML syntax error, a key
 * the language does not have, a wrong type, a name that refers to nothing, an offset
 * outside its mapping — becomes one `ScenarioError` whose position is that of the YAML
 * node at fault, so the command line can print `FILE:LINE:COL: message` like a compiler.
 */
import type { LineCounter } from "yaml";

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

/** Where a path starts in the text (composeYaml's ComposedYaml). */
export interface PathLocator {
  offsetOf(path: SpecPath, key?: string): number;
  /** A lower bound of offsetOf that is exact outside long sequences' items (yamlLocator.ts). */
  coarseOffsetOf(path: SpecPath, key?: string): number;
}

/** Maps paths in the parsed document back to source positions. */
export class PositionMap {
  constructor(
    readonly file: string,
    private readonly locator: PathLocator,
    private readonly lines: LineCounter,
  ) {}

  error(problem: PathProblem): ScenarioError {
    const at = this.locator.offsetOf(problem.path, problem.key);
    const { line, col } = this.lines.linePos(at);
    return new ScenarioError(this.file, line, col, problem.message);
  }

  /**
   * The problem that comes first in the file (ties: the first reported). Problems are
   * ordered by their coarse offsets, and only those tied for first are located exactly:
   * a mistake repeated in 10^5 operations is not 10^5 compositions of an item.
   */
  first(problems: readonly PathProblem[]): ScenarioError | null {
    let least = Infinity;
    let tied: PathProblem[] = [];
    for (const problem of problems) {
      const at = this.locator.coarseOffsetOf(problem.path, problem.key);
      if (at < least) [least, tied] = [at, [problem]];
      else if (at === least) tied.push(problem);
    }
    if (tied.length <= 1) return tied[0] === undefined ? null : this.error(tied[0]);
    let best: { at: number; problem: PathProblem } | null = null;
    for (const problem of tied) {
      const at = this.locator.offsetOf(problem.path, problem.key);
      if (best === null || at < best.at) best = { at, problem };
    }
    return best === null ? null : this.error(best.problem);
  }
}
