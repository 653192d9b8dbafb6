/**
 * Every violation kind the model and its oracles report, with what each means: the list
 * a scenario's `expect: violation:` is checked against, and the one the docs show.
 *
 * Models no kernel file. Kinds are reported by the layer that sees them (the simulation
 * kernel's lockdep and object lifetimes, mm, the notifiers, the NIC, the oracles, the
 * scenario runtime); this is their one index. test/check/violationKinds.test.ts scans
 * the sources for kinds reported as string literals and fails when one is missing here;
 * an oracle declares its kinds (`OracleKinds`), which the type checker and that test
 * hold to this list.
 */
import type { Kernel } from "../sim/kernel.ts";

export const VIOLATION_KINDS = {
  // The simulation kernel (src/sim).
  deadlock: "nothing can run and some task waits for ever (names each wait and held lock)",
  lock_order_inversion: "lockdep: two locks taken in both orders (both chains shown)",
  recursive_locking:
    "lockdep: a task takes a lock it already holds, or another of its class without a subclass",
  lock_not_held: "lockdep_assert_held() failed, or a lock released that is not held",
  unlock_not_owner: "a mutex or rwsem released by a task that does not hold it",
  sleep_in_atomic: "a function that may sleep called with a spinlock held",
  use_after_free: "a kernel object touched after it was freed (with alloc and free sites)",
  double_free: "a kernel object freed twice",
  refcount_underflow: "a kref dropped below zero",
  refcount_use_after_release: "a kref taken or dropped after it reached zero",
  srcu_unbalanced: "srcu_read_unlock() without its lock, or with another index",
  bug_on: "BUG_ON(): an invariant the kernel asserts",
  warn_on: "WARN_ON(): a condition the kernel warns about",
  null_pointer_dereference: "the kernel dereferenced a NULL pointer (an oops)",
  // Memory and notifiers (src/mm).
  bad_page: "a frame misused: referenced while free, over-released, freed while mapped or pinned",
  hmm_walk_without_mmget: "hmm walked an mm's VMAs with no mmget() behind it",
  mmu_notifier_unpaired_end: "invalidate_range_end() without its invalidate_range_start()",
  mmu_interval_remove_in_callback: "mmu_interval_notifier_remove() from an invalidate callback",
  mmu_notifier_unregistered_twice:
    "a driver unregistered an mmu_notifier twice (the second drops an mm_count reference it no longer holds)",
  // Oracles (src/check/oracles, src/check/catalog/uverbs).
  device_use_after_free: "the device reached a frame freed since it was mapped for it",
  device_stale_translation: "the device reached a frame the process no longer maps there",
  device_write_readonly: "the device wrote through a mapping the CPU has read-only",
  device_translation_outlives_frame:
    "a frame was freed while a device page table still translated to it (no invalidation reached it)",
  qp_error_on_valid_memory: "a device fault failed although the MR is live and the memory mapped",
  fault_livelock: "one page faulted over and over without the device reaching it",
  lost_device_write: "a page the device wrote was dropped clean, losing the write",
  leak_at_teardown: "pages, pins, references or objects left when the run ended",
  cpu_access_removed_io: "the CPU touched device IO memory after the device went away",
  io_released_while_mapped:
    "device IO memory released while a live process still maps it through a VMA uverbs tracks (not zapped)",
  untracked_io_vma: "a VMA of device IO memory that uverbs does not track (it cannot zap it)",
  // The scenario runtime (src/scenario).
  qp_error: "a NIC access failed (its QP is in error) where the scenario expected success",
  unexpected_error: "a system call or verb returned an error the scenario did not expect",
  unexpected_signal: "a CPU access raised a signal the scenario did not expect",
  expectation_failed: "an operation's own expectation failed (signal, errno, completion)",
  data_mismatch: "bytes read (inline or by a data check) differ from what was expected",
  scenario_setup_failed: "a step of the scenario's setup failed",
} as const satisfies Record<string, string>;

export type KnownViolationKind = keyof typeof VIOLATION_KINDS;

export function isKnownViolationKind(kind: string): kind is KnownViolationKind {
  return Object.hasOwn(VIOLATION_KINDS, kind);
}

/**
 * The kinds one oracle reports, declared next to it, and its way to report them: `report`
 * takes only a declared kind, so the declaration is all the oracle can say, and each
 * declared kind must be registered above.
 */
export class OracleKinds<K extends KnownViolationKind> {
  constructor(
    /** The oracle, as its module names it. */
    readonly oracle: string,
    readonly kinds: readonly K[],
  ) {}

  /** `k.report()` of one of this oracle's kinds. */
  report(k: Kernel, kind: K, message: string, details?: Record<string, unknown>): void {
    k.report(kind, message, details);
  }
}

/**
 * The kinds the scenario runtime reports: a file's own expectations (an errno, a signal,
 * a completion, bytes, its setup), not the model's invariants. A generated program
 * (`odpsim fuzz`) judges the model only, so these say something about the program.
 */
export const SCENARIO_RUNTIME_KINDS: readonly KnownViolationKind[] = [
  "qp_error",
  "unexpected_error",
  "unexpected_signal",
  "expectation_failed",
  "data_mismatch",
  "scenario_setup_failed",
];
