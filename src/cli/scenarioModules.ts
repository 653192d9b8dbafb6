/**
 * A user's own module on the command line: `odpsim explore ./my-driver.ts` loads a
 * TypeScript or JavaScript module whose default export is a Scenario, or a function of
 * the run's options (`{ design, defects }`) returning one. The module may also export
 * `defects` (the ids its code asks `k.hasDefect()` about, which `--defect` then
 * accepts) and `designs` (the design names it runs under; the first is its default).
 *
 * Models no kernel file. The loaded scenario records the module's path as the user
 * named it and a hash of its source, so a replay token made against it is refused
 * once the source changes. A module that does not load, exports nothing usable or
 * throws while building is a UsageError (one line, exit 2): it is the user's input.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import type { Scenario } from "../check/scenario.ts";
import { UsageError } from "./usageError.ts";

/** The file names a scenario module may have. */
const MODULE_RE = /\.(ts|mts|js|mjs)$/i;

/** What the command line picks a module's scenario with. */
export interface ModuleOptions {
  readonly design?: string;
  readonly defects: readonly string[];
}

export interface ScenarioModule {
  /** The scenario, wrapped to carry `file` (the path) and `sourceHash`. */
  readonly scenario: Scenario;
  /** Defect ids the module declares. */
  readonly defects: readonly string[];
  /** Design names the module declares, or null: it has no designs of its own. */
  readonly designs: readonly string[] | null;
}

/** Whether the command line's scenario argument names a module. */
export function isScenarioModule(name: string): boolean {
  return MODULE_RE.test(name);
}

/** The hash a token records for a module's source. */
export function moduleSourceHash(path: string): string {
  const text = readSource(path);
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function readSource(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`${path}: cannot read the module (${reason(error)})`);
  }
}

/** The public entry as this copy of odpsim has it (src/index.ts, beside src/cli/). */
const PUBLIC_ENTRY = new URL("../index.ts", import.meta.url).href;
let entryHooked = false;

/**
 * Makes `import … from "odpsim"` in a user's module resolve to this copy's sources, once
 * per thread (a worker thread loads the module again), so the module and the command
 * share one model rather than each getting its own (dist/ or another install).
 */
function hookPublicEntry(): void {
  if (entryHooked) return;
  entryHooked = true;
  const hook =
    "export async function resolve(specifier, context, next) {" +
    ` if (specifier === "odpsim") return next(${JSON.stringify(PUBLIC_ENTRY)}, context);` +
    " return next(specifier, context); }";
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

/** Loads the module at `path` and builds its scenario for `options`. */
export async function loadScenarioModule(
  path: string,
  options: ModuleOptions,
): Promise<ScenarioModule> {
  const sourceHash = moduleSourceHash(path);
  const mod = await importUserModule(path);
  const defects = stringList(path, mod, "defects") ?? [];
  const designs = stringList(path, mod, "designs");
  const scenario = scenarioOf(path, mod.default, options);
  return { scenario: withSource(scenario, path, sourceHash), defects, designs };
}

/**
 * Imports a user's module (a scenario or a design) with `"odpsim"` resolving to this
 * copy; a module that does not load is a UsageError.
 */
export async function importUserModule(path: string): Promise<Record<string, unknown>> {
  hookPublicEntry();
  try {
    return (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `${path}: ${commonJsAdvice(path, error) ?? `the module does not load: ${reason(error)}`}`,
    );
  }
}

/** Error codes of Node loading an ES module through require(): a CommonJS package. */
const REQUIRE_ESM_CODES = new Set([
  "ERR_REQUIRE_CYCLE_MODULE",
  "ERR_REQUIRE_ESM",
  "ERR_REQUIRE_ASYNC_MODULE",
]);

/**
 * What to do when a `.ts` or `.js` module with `import` lines sits in a CommonJS package
 * (no `"type": "module"` in its nearest package.json): Node, through tsx, then loads it
 * with require() and fails with a message about require(esm) cycles that does not say so.
 */
function commonJsAdvice(path: string, error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !REQUIRE_ESM_CODES.has(code) || !/\.[jt]s$/.test(path))
    return null;
  const pkg = nearestPackageJson(dirname(resolve(path)));
  const mts = basename(path).replace(/\.([jt])s$/, ".m$1s");
  const fix =
    pkg === null
      ? `add a package.json beside it with "type": "module"`
      : `add "type": "module" to ${pkg}`;
  const cause = pkg === null ? "no package.json above it" : `no "type": "module" in ${pkg}`;
  return `loads as CommonJS (${cause}), so its imports fail; ${fix}, or rename it ${mts}`;
}

/** The package.json that decides how files under `dir` load, or null. */
function nearestPackageJson(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, "package.json");
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return null;
  }
}

/** The default export as a scenario: itself, or what the factory returns. */
function scenarioOf(path: string, value: unknown, options: ModuleOptions): Scenario {
  let built = value;
  if (typeof value === "function") {
    try {
      built = (value as (o: ModuleOptions) => unknown)(options);
    } catch (error) {
      throw new UsageError(`${path}: the default export threw while building: ${reason(error)}`);
    }
  }
  if (!isScenario(built)) {
    throw new UsageError(
      `${path}: the default export is not a scenario (an object with name, description ` +
        "and build) or a function returning one",
    );
  }
  return built;
}

function isScenario(value: unknown): value is Scenario {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<Scenario>;
  return (
    typeof s.name === "string" && typeof s.description === "string" && typeof s.build === "function"
  );
}

/** An optional export that must be a list of strings. */
export function stringList(
  path: string,
  mod: Record<string, unknown>,
  name: string,
): readonly string[] | null {
  const value = mod[name];
  if (value === undefined) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new UsageError(`${path}: export "${name}" must be a list of strings`);
  }
  return value;
}

/**
 * The scenario with its source recorded, its build guarded: an exception out of the
 * user's build is the user's, so it becomes a UsageError only when the module is first
 * built here; during a search the kernel's own error handling judges it.
 */
function withSource(s: Scenario, file: string, sourceHash: string): Scenario {
  return {
    name: s.name,
    description: s.description,
    ...(s.parts === undefined ? {} : { parts: s.parts }),
    file,
    sourceHash,
    build: (ctx) => s.build(ctx),
    ...(s.check === undefined ? {} : { check: (k, r) => s.check?.(k, r) ?? [] }),
  };
}

/** An error's first line. */
export function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

/**
 * For worker threads (ScenarioRef): `name` is the JSON of { path, design, defects };
 * the module is loaded again and built the same way.
 */
export async function scenarioByName(name: string): Promise<Scenario> {
  const { path, design, defects } = JSON.parse(name) as {
    path: string;
    design?: string;
    defects: string[];
  };
  const m = await loadScenarioModule(path, {
    ...(design === undefined ? {} : { design }),
    defects,
  });
  return m.scenario;
}
