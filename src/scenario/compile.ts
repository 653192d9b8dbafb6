/**
 * A validated scenario file → a `Scenario` the explorer, the replayer and `odpsim run`
 * can build kernels from.
 *
 * Models no kernel file. `build(ctx)` creates the hosts, runs every process's setup in
 * one setup task (and connects their QPs), then spawns the fault tasks the plan enables
 * and the threads (no schedule hints: the strategy decides every interleaving). The context's design and defects override the file's. `check` turns the
 * file's data expectations into post-run violations, and once every MR the file
 * registered is destroyed, runs the teardown-leak oracle. Per-run state is kept in a WeakMap
 * owned by the compiled scenario, keyed by the run's kernel.
 */
import type { Kernel, RunResult } from "../sim/kernel.ts";
import type { KGen } from "../sim/task.ts";
import type { Scenario, ScenarioContext } from "../check/scenario.ts";
import { teardownLeaks } from "../check/oracles/teardownLeaks.ts";
import { dataCheckViolations, runDataChecks, type DataCheckResult } from "./dataCheck.ts";
import { loadScenarioFile, type ParsedScenario } from "./parse.ts";
import type { ScenarioSpec } from "./schema.ts";
import { connectQps, setupProcess } from "./setup.ts";
import { spawnThreads } from "./threads.ts";
import { buildWorld, scenarioParts, spawnScenarioFaultTasks, type World } from "./world.ts";

/** The description prefix: bump it when the compiler's meaning of a file changes. */
const DESCRIPTION_VERSION = "odpsim scenario file v3";

export interface CompiledScenario extends Scenario {
  readonly file: string;
  readonly spec: ScenarioSpec;
  /** The expected violation kind, or null when every run must be clean. */
  readonly expectedViolation: string | null;
  /** The data checks of a finished run of a kernel this scenario built. */
  dataChecks(kernel: Kernel, result: RunResult): readonly DataCheckResult[];
  /** The world (hosts, processes and their objects) of a kernel this scenario built. */
  worldOf(kernel: Kernel): World;
}

/** Reads, validates and compiles `file`; throws ScenarioError. */
export function loadScenario(file: string): CompiledScenario {
  return compileScenario(loadScenarioFile(file));
}

export function compileScenario(parsed: ParsedScenario): CompiledScenario {
  const { spec, file } = parsed;
  const worlds = new WeakMap<Kernel, World>();
  const checks = spec.expect?.data ?? [];
  const expected = spec.expect?.violation;
  const worldOf = (kernel: Kernel): World => {
    const world = worlds.get(kernel);
    if (world === undefined) throw new Error(`kernel not built by scenario ${spec.name}`);
    return world;
  };
  const dataChecks = (kernel: Kernel, result: RunResult): DataCheckResult[] =>
    runDataChecks(worldOf(kernel), checks, result);
  return {
    name: spec.name,
    description: `${DESCRIPTION_VERSION}: ${JSON.stringify(spec)}`,
    file,
    spec,
    expectedViolation: expected === undefined || expected === "none" ? null : expected,
    parts: scenarioParts(spec),
    build(ctx: ScenarioContext): Kernel {
      const world = buildWorld(spec, ctx);
      worlds.set(world.k, world);
      const firstHost = world.hosts.values().next().value;
      const group = { kind: "host" as const, name: firstHost?.name ?? "host0" };
      world.k.spawn("setup", group, () => setupWorld(world));
      return world.k;
    },
    check(kernel, result) {
      const data =
        checks.length === 0 ? [] : dataCheckViolations(dataChecks(kernel, result), result);
      return [...data, ...leaksOnceTornDown(worldOf(kernel), kernel, result)];
    },
    dataChecks,
    worldOf,
  };
}

/**
 * The teardown-leak oracle, for a run that destroyed every MR the file registered (by
 * dereg_mr, or by closing the device file at exit): nothing of theirs may be left.
 */
function leaksOnceTornDown(world: World, kernel: Kernel, result: RunResult) {
  const mrs = [...world.procs.values()].flatMap((p) => [...p.mrs.values()]);
  if (mrs.length === 0 || mrs.some((m) => !m.mr.freed)) return [];
  return teardownLeaks(kernel, result);
}

/** The setup task: each process's setup, the QP connections, then the run's threads. */
function* setupWorld(world: World): KGen {
  const procs = [...world.procs.values()];
  // Fault injection targets the run, not the setup that precedes it.
  world.k.faultsArmed = false;
  for (const p of procs) if (!(yield* setupProcess(world, p))) return;
  if (!(yield* connectQps(world))) return;
  world.k.faultsArmed = true;
  spawnScenarioFaultTasks(world);
  for (const p of procs) spawnThreads(world, p);
}
