/**
 * Violations of the modelled system, as values.
 *
 * Models the kernel's own reporting channels (lockdep splats, KASAN reports,
 * might_sleep() warnings, BUG_ON / WARN_ON, the hung-task detector), but as data: a
 * checker records a violation and the run decides whether to stop. Nothing here is
 * thrown past the scheduler. An error in odpsim itself is an `InternalError`, never a
 * violation, so a bug in the simulator is not mistaken for a bug in the design.
 */

/** Stable names of the violation kinds the simulation kernel itself detects. */
export type SimViolationKind =
  | "deadlock"
  | "lock_order_inversion"
  | "recursive_locking"
  | "lock_not_held"
  | "unlock_not_owner"
  | "sleep_in_atomic"
  | "use_after_free"
  | "double_free"
  | "refcount_underflow"
  | "refcount_use_after_release"
  | "srcu_unbalanced"
  | "bug_on"
  | "warn_on"
  | "null_pointer_dereference";

/**
 * Violation kinds are open: higher layers (mm, rdma, the oracles) add their own stable
 * names, so the type is the sim kinds plus any string.
 */
export type ViolationKind = SimViolationKind | (string & {});

/** One broken invariant: what, where (step and task) and the evidence. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  readonly step: number;
  readonly timeNs: number;
  /** The task that was running, or null when found outside any task (e.g. deadlock). */
  readonly task: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * Thrown by model code for BUG_ON-style conditions; the scheduler turns it into a
 * violation of kind `bug_on` (or the kind given) and stops the task.
 */
export class KernelBug extends Error {
  constructor(
    readonly kind: ViolationKind,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = "KernelBug";
  }
}

/** A failure of odpsim itself (a bug in the simulator, a diverged replay). */
export interface InternalError {
  readonly message: string;
  readonly step: number;
  readonly task: string | null;
  readonly stack?: string;
}
