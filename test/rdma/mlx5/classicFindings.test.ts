/**
 * Where the classic design's documented findings show (src/check/catalog/findings.ts),
 * on the programs the language fuzz shrank them to (fuzz/findings/): exploration with no
 * defect on finds each, and its report names the locks, tasks and waits the finding
 * describes. lockdep reports lock classes; a replay with the trace on names the
 * instances (each umem's mutex is labelled with its umem's kind).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { findingOf } from "../../../src/check/catalog/findings.ts";
import { explore, type ExploreFailure } from "../../../src/check/explore.ts";
import { replayRecorded } from "../../../src/check/replay.ts";
import type { Scenario } from "../../../src/check/scenario.ts";
import { loadScenario } from "../../../src/scenario/compile.ts";

const DESIGN = "classic";

/** The first failure of a random search of `file`, with the finding it is. */
function firstFailure(file: string) {
  const scenario = loadScenario(file);
  const r = explore(scenario, { strategy: "random", schedules: 3000, design: DESIGN, defects: [] });
  const f = r.firstFailure;
  assert.ok(f !== null, `${file}: clean in ${r.schedulesRun} schedules`);
  return { scenario, f, finding: findingOf(DESIGN, f.violation)?.id };
}

/** The trace of a replay of `f` with the trace on. */
function replayTrace(scenario: Scenario, f: ExploreFailure) {
  const run = replayRecorded(scenario, {
    seed: f.seed,
    schedule: f.schedule,
    timing: f.timing,
    design: DESIGN,
    defects: [],
  });
  assert.equal(run.divergence, -1);
  const trace = run.kernel.trace;
  assert.ok(trace !== null);
  return trace;
}

/** The trace labels of a replay of `f` with the trace on. */
function labels(scenario: Scenario, f: ExploreFailure): string[] {
  return replayTrace(scenario, f).entries.map(
    (e) => `${e.label} ${JSON.stringify(e.fields ?? {})}`,
  );
}

function details(f: ExploreFailure) {
  return f.violation.details as { newChain: string; existingChain: string[] };
}

test("classic-implicit-root-umem-mutex-class: an implicit fault's root umem_mutex -> umem_rwsem against an invalidation's umem_rwsem -> explicit umem_mutex", () => {
  const { scenario, f, finding } = firstFailure(
    "fuzz/findings/finding-classic-lock_order_inversion-0.yaml",
  );
  assert.equal(finding, "classic-implicit-root-umem-mutex-class", f.violation.message);
  const { newChain, existingChain } = details(f);
  assert.match(newChain, /^kworker\/mlx5_ib_page_fault.*: umem_mutex -> umem_rwsem$/);
  assert.ok(
    existingChain.some((c) => c.endsWith("umem_rwsem -> umem_mutex")),
    existingChain[0],
  );
  // The two umem_mutex instances: the implicit root's (the fault's) and an explicit
  // umem's (the invalidation's), one lockdep class.
  const locks = labels(scenario, f).filter((l) => l.startsWith("mutex_lock(umem_mutex("));
  assert.ok(
    locks.some((l) => l.includes("umem_odp(implicit_root)")),
    locks.join("\n"),
  );
  assert.ok(
    locks.some((l) => l.includes("umem_odp(explicit)")),
    locks.join("\n"),
  );
});

test("classic-implicit-root-umem-mutex-mmap-lock: root umem_mutex -> per_mm_list_lock -> mmap_lock against mmap_lock -> umem_rwsem -> explicit umem_mutex", () => {
  const { f, finding } = firstFailure("fuzz/findings/finding-classic-lock_order_inversion-11.yaml");
  assert.equal(finding, "classic-implicit-root-umem-mutex-mmap-lock", f.violation.message);
  const { newChain, existingChain } = details(f);
  assert.match(newChain, /mmap_lock -> umem_rwsem -> umem_mutex$/);
  assert.ok(existingChain.some((c) => c.endsWith("umem_mutex -> per_mm_list_lock")));
  assert.ok(existingChain.some((c) => c.endsWith("per_mm_list_lock -> mmap_lock")));
});

test("classic-refusal-leaves-itree-open: the OOM reaper's start is accepted by dmirror's interval notifier, refused by the per_mm notifier, and a mirror read waits for ever", () => {
  const { scenario, f, finding } = firstFailure("fuzz/findings/finding-classic-deadlock-1.yaml");
  assert.equal(finding, "classic-refusal-leaves-itree-open", f.violation.message);
  const blocked = (f.violation.details as { blocked: { waitsOn: string; holds: string[] }[] })
    .blocked;
  assert.equal(blocked.length, 1);
  assert.match(blocked[0]?.waitsOn ?? "", /^wait queue notifier_subscriptions\(.*\)\.wq$/);
  assert.deepEqual(blocked[0]?.holds, []);
  const trace = labels(scenario, f);
  const opened = trace.findIndex((l) => l.startsWith("mn_itree_inv_start_range"));
  const refused = trace.findIndex(
    (l) => l.startsWith("mmu_notifier_start_failed") && l.includes("ib_umem_notifiers"),
  );
  assert.ok(opened >= 0 && refused > opened, "the tree opened, then the classic notifier refused");
  // No end for that start: invalidate_seq never becomes even again.
  assert.equal(
    trace.slice(refused).some((l) => l.startsWith("mn_itree_inv_end")),
    false,
  );
});

test("classic-implicit-dereg-keeps-child-mtt: the soak's program, a device removal's deregistration against munmap, shows it", () => {
  const { f, finding } = firstFailure(
    "fuzz/findings/finding-classic-device_translation_outlives_frame-17.yaml",
  );
  assert.equal(finding, "classic-implicit-dereg-keeps-child-mtt", f.violation.message);
  assert.match(f.violation.message, /\(mr_leaf_free unmapped it and zapped no MTT entry\)$/);
});

test("classic-release-drops-reaper-end: the exit's mmu_notifier_release unlinks the per_mm notifier between the OOM reaper's start and end, and umem_rwsem stays read-held", () => {
  const { scenario, f, finding } = firstFailure("fuzz/findings/finding-classic-deadlock-19.yaml");
  assert.equal(finding, "classic-release-drops-reaper-end", f.violation.message);
  const trace = replayTrace(scenario, f);
  // The reader that holds umem_rwsem is the program's oom_reap thread (t0).
  const reader = /readers \[([^\]#]+)#/.exec(f.violation.message)?.[1];
  assert.equal(reader, "t0", f.violation.message);
  const reaper = trace.tasks.find((t) => t.name === reader)?.id;
  const rwsem = (e: (typeof trace.entries)[number]) =>
    String(e.fields?.lock).startsWith("umem_rwsem(");
  const at = (label: string, task: number | undefined) =>
    trace.entries.filter((e) => e.label === label && e.task === task);
  const start = at("invalidate_range_start", reaper)[0];
  const taken = at("lock_acquire", reaper).find(rwsem);
  assert.ok(start !== undefined && taken !== undefined, "the reaper's start took umem_rwsem");
  assert.equal(taken.fields?.trylock, true, "non-blockable: a trylock");
  const end = at("invalidate_range_end", reaper).find((e) => e.step > taken.step);
  assert.ok(end !== undefined, "the reaper ended its range");
  // Within the reaper's range (from its start's walk, which may already have passed the
  // subscriber, to its end) the exiting thread released the mm's notifiers
  // (ib_umem_notifier_release takes umem_rwsem for read) and unlinked the per_mm notifier
  // the end would have reached.
  const release = trace.entries.find(
    (e) =>
      e.label === "lock_acquire" &&
      rwsem(e) &&
      e.task !== reaper &&
      e.step > start.step &&
      e.step < end.step,
  );
  assert.ok(release !== undefined, "no notifier release within the reaper's range");
  assert.equal(at("lock_release", reaper).some(rwsem), false, "the reaper released umem_rwsem");
});
