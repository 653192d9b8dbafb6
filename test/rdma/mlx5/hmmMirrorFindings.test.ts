/**
 * Where the hmm-mirror findings of the language fuzz show (src/check/catalog/findings.ts,
 * README "What exploration found"): each shrunk program of fuzz/findings/ is run under
 * random schedules from seed 0 until it fails, and the test asserts the path, not only
 * the kind: the lock classes of the lockdep cycle, the task and COW break of the
 * recursive umem_mutex, the objects of the leak and the defect whose shape it has, and
 * who freed the page the device used.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  compileScenario,
  loadScenario,
  type CompiledScenario,
} from "../../../src/scenario/compile.ts";
import { parseScenarioText } from "../../../src/scenario/parse.ts";
import { runOnce } from "../../../src/scenario/runOnce.ts";
import type { Violation } from "../../../src/sim/violation.ts";
import type { Trace, TraceEntry } from "../../../src/sim/trace.ts";

const FINDINGS_DIR = "fuzz/findings";
const SEEDS = 200;

interface Failure {
  readonly seed: number;
  readonly violation: Violation;
  readonly trace: Trace;
}

/** The first violations of runs from seed 0 (random schedules, free timing) that `keep` keeps. */
function failures(
  scenario: CompiledScenario,
  keep: (v: Violation) => boolean,
  opts: { design?: string; defects?: string[]; want?: number } = {},
): Failure[] {
  const found: Failure[] = [];
  for (let seed = 0; seed < SEEDS && found.length < (opts.want ?? 1); seed++) {
    const { report, run } = runOnce(scenario, {
      seed,
      timing: "free",
      design: opts.design ?? "hmm-mirror",
      defects: opts.defects ?? [],
      trace: true,
    });
    const v = report.violations[0];
    const trace = run.kernel.trace;
    if (v !== undefined && trace !== null && keep(v)) found.push({ seed, violation: v, trace });
  }
  return found;
}

function finding(name: string): CompiledScenario {
  return loadScenario(`${FINDINGS_DIR}/${name}.yaml`);
}

function taskName(trace: Trace, id: number): string {
  return trace.tasks.find((t) => t.id === id)?.name ?? String(id);
}

function events(trace: Trace, label: string): TraceEntry[] {
  return trace.entries.filter((e) => e.kind === "event" && e.label === label);
}

const chainOf = (v: Violation) => {
  const d = v.details as { newChain: string; existingChain: string[]; locks: string[] };
  return [d.newChain, ...d.existingChain].map((c) => c.replace(/^.* at step \d+: /, ""));
};

test("hmm-mirror lockdep cycle mmap_lock -> umem_mutex -> per_mm_list_lock -> mmap_lock, closed at either edge", () => {
  const isCycle = (v: Violation) =>
    v.kind === "lock_order_inversion" && chainOf(v).some((c) => c.includes("per_mm_list_lock"));
  const seen = failures(finding("finding-hmm-mirror-lock_order_inversion-2"), isCycle, {
    want: 40,
  });
  const messages = new Set(seen.map((f) => f.violation.message));
  assert.deepEqual([...messages].sort(), [
    "possible circular locking dependency: mmap_lock -> umem_mutex here, umem_mutex => mmap_lock earlier",
    "possible circular locking dependency: umem_mutex -> per_mm_list_lock here, per_mm_list_lock => umem_mutex earlier",
  ]);
  for (const { violation } of seen) {
    const edges = chainOf(violation);
    // The three edges of the posted code: ib_umem_odp_map_dma_pages (mmap_sem, then the
    // explicit umem's umem_mutex), implicit_mr_get_data -> ib_alloc_odp_umem (the root's
    // umem_mutex, then per_mm_list_lock), get_per_mm -> alloc_per_mm (per_mm_list_lock,
    // then mmap_sem for hmm_mirror_register).
    assert.ok(edges.includes("mmap_lock -> umem_mutex"), edges.join(" | "));
    assert.ok(edges.includes("umem_mutex -> per_mm_list_lock"), edges.join(" | "));
    assert.ok(
      edges.some((c) => c.endsWith("per_mm_list_lock -> mmap_lock")),
      edges.join(" | "),
    );
  }
});

test("the hmm-mirror lockdep cycle is the posting's: v5.3 (classic) takes umem_mutex after dropping mmap_sem", () => {
  const isCycle = (v: Violation) =>
    v.kind === "lock_order_inversion" && chainOf(v).some((c) => c.includes("per_mm_list_lock"));
  const seen = failures(finding("finding-hmm-mirror-lock_order_inversion-2"), isCycle, {
    design: "classic",
  });
  assert.deepEqual(seen, []);
});

/** The recursion of umem_mutex, and that its task broke COW while holding it. */
function assertSelfDeadlock(f: Failure): void {
  const d = f.violation.details as { lock: string; held: string[] };
  assert.match(d.lock, /^umem_mutex\(umem_odp\((explicit|implicit_child)\)#\d+\)$/);
  const held = d.held.map((h) => h.replace(/\(.*$/, ""));
  assert.deepEqual(held, ["mmap_lock", "umem_mutex", "hmm", "umem_rwsem"]);
  assert.equal(d.held[1], d.lock);
  const task = events(f.trace, "violation").find((e) => e.fields?.kind === f.violation.kind)?.task;
  const took = events(f.trace, "lock_acquire").filter(
    (e) => e.task === task && e.fields?.lock === d.lock,
  );
  const first = took[0]?.step ?? Infinity;
  const cow = f.trace.entries.find(
    (e) => e.label === "wp_page_copy" && e.task === task && e.step >= first,
  );
  assert.ok(cow !== undefined, "no copy-on-write break under umem_mutex");
}

for (const name of [
  "finding-hmm-mirror-recursive_locking-9",
  "finding-hmm-mirror-recursive_locking-13",
]) {
  test(`${name}: the self-deadlock of example 18, a private file page's COW break under umem_mutex`, () => {
    const [f] = failures(finding(name), (v) => v.kind === "recursive_locking");
    assert.ok(f !== undefined, "not found");
    assertSelfDeadlock(f);
  });
}

test("finding-hmm-mirror-recursive_locking-13 with the posting's own advice (PREFETCH_WRITE) deadlocks the same way", () => {
  const file = `${FINDINGS_DIR}/finding-hmm-mirror-recursive_locking-13.yaml`;
  const text = readFileSync(file, "utf8").replace("prefetch_no_fault", "prefetch_write");
  assert.ok(text.includes("prefetch_write"));
  const scenario = compileScenario(parseScenarioText(text, file));
  const [f] = failures(scenario, (v) => v.kind === "recursive_locking");
  assert.ok(f !== undefined, "not found");
  assertSelfDeadlock(f);
});

test("hmm-mirror implicit MR leak at teardown has the shape of catalog #21 (implicit-release-leaks-children)", () => {
  const scenario = finding("finding-hmm-mirror-leak_at_teardown-3");
  const leak = (v: Violation) => v.kind === "leak_at_teardown";
  const [f] = failures(scenario, leak);
  assert.ok(f !== undefined, "not found");
  assert.match(f.violation.message, /umem_odp\(implicit_child\)#\d+, mlx5_ib_mr#\d+$/);
  // The mm's release (ib_umem_notifier_release_trampoline, as posted) marked a umem
  // dying: the child, the only umem in the per_mm's tree.
  const release = events(f.trace, "hmm_release")[0];
  assert.ok(release !== undefined, "no hmm_release");
  const dying = f.trace.entries.some(
    (e) => e.label === "odp dying" && e.task === release.task && e.step > release.step,
  );
  assert.ok(dying, "the release did not mark the child dying");
  // v5.3's classic leaks the same objects with the trampoline's dying restored, and
  // only then.
  const [classicLeak] = failures(scenario, leak, {
    design: "classic",
    defects: ["implicit-release-leaks-children"],
  });
  assert.match(classicLeak?.violation.message ?? "", /umem_odp\(implicit_child\)#\d+/);
  assert.deepEqual(failures(scenario, leak, { design: "classic" }), []);
});

test("hmm-mirror device use-after-free: the OOM reaper frees the page while hmm_release has unlinked the mirror", () => {
  const [f] = failures(
    finding("finding-hmm-mirror-device_use_after_free-7"),
    (v) => v.kind === "device_use_after_free",
  );
  assert.ok(f !== undefined, "not found");
  const pfn = (f.violation.details as { pfn: number }).pfn;
  const frees = events(f.trace, "page freed").filter((e) => e.fields?.pfn === pfn);
  const free = frees[frees.length - 1];
  assert.ok(free !== undefined);
  assert.equal(free.fields?.in, "zap_pte_range");
  // t2 is the program's kernel thread that runs oom_reap.
  assert.match(taskName(f.trace, free.task), /^t2(#|$)/);
  const release = events(f.trace, "hmm_release")[0];
  assert.ok(release !== undefined && release.step < free.step, "no hmm_release before the free");
  // The reaper's last invalidation before the free reached no mirror (its callback would
  // have tried umem_rwsem and refused the non-blockable range).
  const starts = events(f.trace, "invalidate_range_start").filter(
    (e) => e.task === free.task && e.step <= free.step,
  );
  const lastStart = starts[starts.length - 1];
  assert.ok(lastStart !== undefined);
  const reachedMirror = events(f.trace, "lock_acquire").some(
    (e) =>
      e.task === free.task &&
      e.step >= lastStart.step &&
      e.step <= free.step &&
      String(e.fields?.lock).startsWith("umem_rwsem"),
  );
  assert.equal(reachedMirror, false);
});

/** Two invalidations of one emptied child both read it not dying and both queue its free. */
function assertDoubleQueue(trace: Trace): void {
  const queued = events(trace, "schedule_work").filter((e) =>
    String(e.fields?.work).startsWith("mr_leaf_free_action(umem_odp(implicit_child)#"),
  );
  const byWork = new Map<string, TraceEntry[]>();
  for (const e of queued) {
    const work = String(e.fields?.work);
    byWork.set(work, [...(byWork.get(work) ?? []), e]);
  }
  const twice = [...byWork.values()].find((list) => list.length >= 2);
  assert.ok(twice !== undefined, "no child's free queued twice");
  assert.deepEqual(
    twice.slice(0, 2).map((e) => e.fields?.["imr->num_leaf_free"]),
    [1, 2],
  );
  const tests = events(trace, "mlx5_ib_invalidate_range").filter(
    (e) => e.fields?.["odp->dying"] === 0 && e.step <= (twice[1]?.step ?? 0),
  );
  assert.ok(new Set(tests.map((e) => e.task)).size >= 2, "not two invalidations");
}

test("hmm-mirror use-after-free in mr_leaf_free_action: an implicit child's free queued by two invalidations", () => {
  const [f] = failures(
    finding("finding-hmm-mirror-use_after_free-15"),
    (v) => v.kind === "use_after_free",
  );
  assert.ok(f !== undefined, "not found");
  assert.match(f.violation.message, /mr_leaf_free_action .* umem_odp\(implicit_child\)#\d+/);
  assertDoubleQueue(f.trace);
});

test("hmm-mirror-refusal-leaves-itree-open: the interval tree counts the OOM reaper's start, v5.2 hmm refuses it, and the exit waits for ever", () => {
  const [f] = failures(finding("finding-hmm-mirror-deadlock-18"), (v) => v.kind === "deadlock");
  assert.ok(f !== undefined, "not found");
  const blocked = (f.violation.details as { blocked: { waitsOn: string; holds: string[] }[] })
    .blocked;
  assert.equal(blocked.length, 1);
  assert.match(blocked[0]?.waitsOn ?? "", /^wait queue notifier_subscriptions\(.*\)\.wq$/);
  assert.deepEqual(blocked[0]?.holds, []);
  const opened = events(f.trace, "mn_itree_inv_start_range")[0];
  const refused = events(f.trace, "mmu_notifier_start_failed").find((e) => e.fields?.ops === "hmm");
  assert.ok(opened !== undefined && refused !== undefined, "no itree start or no hmm refusal");
  assert.ok(refused.step >= opened.step, "the tree opened, then hmm refused");
  assert.ok(
    events(f.trace, "mn_itree_inv_end").every((e) => e.step < opened.step),
    "an end followed the refused start",
  );
});
