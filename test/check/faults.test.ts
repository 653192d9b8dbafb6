import assert from "node:assert/strict";
import { test } from "node:test";
import { faultVsDereg } from "../../src/check/catalog/scenarios/faultVsDereg.ts";
import { faultVsInvalidate } from "../../src/check/catalog/scenarios/faultVsInvalidate.ts";
import { odpHostOf } from "../../src/check/catalog/scenarios/odpHost.ts";
import { catalogEntry, entryDefects } from "../../src/check/catalog/catalog.ts";
import { explore } from "../../src/check/explore.ts";
import { faultSitesOf } from "../../src/check/faults.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";

function traceHash(seed: number, sites: ("umr" | "alloc")[] | null) {
  const run = runScenario(faultVsInvalidate, {
    seed,
    strategy: new UniformRandom(),
    trace: true,
    design: "classic",
    ...(sites === null ? {} : { faults: { sites } }),
  });
  return { hash: run.result.trace?.hash(), injected: run.kernel.faultsInjected };
}

test("fault injection: an empty plan changes nothing; a plan is deterministic per seed", () => {
  for (const seed of [0, 1, 2]) {
    assert.equal(traceHash(seed, []).hash, traceHash(seed, null).hash);
    assert.deepEqual(traceHash(seed, ["umr", "alloc"]), traceHash(seed, ["umr", "alloc"]));
  }
});

test("fault injection: sites fail at the planned rate, drawn from the seed", () => {
  assert.deepEqual([...faultSitesOf({ sites: ["umr"], probability: 0.5 })], [["umr", 0.5]]);
  let injected = 0;
  for (let seed = 0; seed < 40; seed++) injected += traceHash(seed, ["umr"]).injected;
  assert.ok(injected > 0, "no UMR ever failed in 40 seeds");
});

test("fault injection finds that a failed zap UMR leaves the device translating a freed page", () => {
  // mlx5_ib_invalidate_range ignores the result of its zap UMR, in every design: the MTT
  // still translates the page when the CPU frees it.
  for (const design of ["classic", "interval"]) {
    const r = explore(faultVsInvalidate, {
      strategy: "random",
      schedules: 300,
      design,
      faults: { sites: ["umr"] },
    });
    assert.equal(r.firstFailure?.violation.kind, "device_translation_outlives_frame", design);
  }
});

/** Runs fault-vs-dereg (4 pages, the NIC writing them, the user deregistering) with one site. */
function deregRun(seed: number, site: "device_removal" | "process_kill", defects: string[] = []) {
  const run = runScenario(faultVsDereg, {
    seed,
    strategy: new UniformRandom(),
    design: "classic",
    defects,
    faults: { sites: [site] },
    trace: true,
  });
  const host = odpHostOf(run.kernel);
  assert.ok(host !== undefined);
  return { run, host };
}

/** The task that destroyed the MR's mkey in `run`. */
function destroyer(run: ReturnType<typeof deregRun>["run"]): string | undefined {
  const trace = run.result.trace;
  const e = trace?.entries.find((x) => x.kind === "event" && x.label === "destroy_mkey");
  return trace?.tasks.find((t) => t.id === e?.task)?.name;
}

test("device_removal: hot unplug destroys the MRs the process still holds and stops the device", () => {
  const destroyers = new Set<string | undefined>();
  for (let seed = 0; seed < 20; seed++) {
    const { run, host } = deregRun(seed, "device_removal");
    destroyers.add(destroyer(run));
    assert.deepEqual(run.violations, [], `seed ${seed}`);
    assert.equal(run.kernel.faultsInjected, 1);
    assert.equal(host.dev.removed, true);
    assert.equal(host.dev.mrs.size, 0, `seed ${seed}: an MR outlived the unplug`);
    assert.equal(host.udev.uverbsFileList.length, 0);
  }
  // Some unplugs come before the user's dereg_mr (which then fails -EIO), some after.
  assert.deepEqual([...destroyers].sort(), ["hot_unplug", "user"]);
});

test("process_kill: the dying process's file destroys its MRs; its threads stop", () => {
  let closedByExit = 0;
  for (let seed = 0; seed < 20; seed++) {
    const { run, host } = deregRun(seed, "process_kill");
    if (destroyer(run)?.startsWith("uverbs_close") === true) closedByExit++;
    assert.deepEqual(run.violations, [], `seed ${seed}`);
    assert.equal(host.proc.mm, null);
    assert.equal(host.dev.mrs.size, 0, `seed ${seed}: an MR outlived the process`);
    assert.ok(host.proc.threads.every((t) => t.state === "done"));
  }
  assert.ok(closedByExit > 0, "no kill came before the user's dereg_mr");
});

test("the catalog's fault tasks (src/check/faultTasks.ts): reaper, kill, unplug, in that order", () => {
  const run = runScenario(faultVsDereg, {
    seed: 5,
    strategy: new UniformRandom(),
    design: "classic",
    faults: { sites: ["device_removal", "process_kill", "nonblockable_invalidate"] },
    trace: true,
  });
  assert.deepEqual(run.violations, []);
  const kthreads = run.result.trace?.tasks.filter((t) =>
    ["oom_reaper", "sigkill", "hot_unplug"].includes(t.name),
  );
  // Spawned (so their times drawn) in a fixed order, whatever order the plan lists.
  assert.deepEqual(
    kthreads?.map((t) => t.name),
    ["oom_reaper", "sigkill", "hot_unplug"],
  );
  const host = odpHostOf(run.kernel);
  assert.ok(host !== undefined);
  assert.equal(host.dev.removed, true);
  assert.equal(host.proc.mm, null);
});

test("fault tasks on a device whose faults cost nothing run at time 0, not crash the setup", () => {
  // implicit-child-reap's device is INSTANT_DEVICE: a fault window of 0 ns once made
  // spawnProcessFaultTasks draw nextInt(0), which threw out of runScenario itself.
  const entry = catalogEntry("implicit-child-double-destroy");
  assert.ok(entry);
  for (const site of ["nonblockable_invalidate", "process_kill", "device_removal"] as const) {
    const r = explore(entry.scenario, {
      strategy: "random",
      schedules: 30,
      design: entry.design,
      defects: entryDefects(entry, true),
      faults: { sites: [site], probability: 0.5 },
    });
    assert.equal(r.schedulesRun, 30, site);
    assert.equal(r.firstInternalError, null, `${site}: ${r.firstInternalError?.error.message}`);
  }
});
