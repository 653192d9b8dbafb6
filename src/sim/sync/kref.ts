/**
 * struct kref / refcount_t (include/linux/kref.h, lib/refcount.c).
 *
 * A count that frees its object when it drops to zero. As refcount_t does, it refuses
 * to count from zero: an increment at zero is a use after release, a decrement below
 * zero an underflow; both are reported and the count is left saturated at zero.
 * kref_get_unless_zero() is the lookup-side primitive that may legitimately fail.
 */
import type { Kernel } from "../kernel.ts";

export class Kref {
  private count: number;

  constructor(
    private readonly k: Kernel,
    readonly name: string,
    initial = 1,
  ) {
    this.count = initial;
  }

  /** kref_read(). */
  read(): number {
    return this.count;
  }

  /** kref_get(): taking a reference on a released object is a violation. */
  get(): void {
    if (this.count === 0) {
      this.k.report("refcount_use_after_release", `refcount_t: addition on 0 (${this.name})`, {
        ref: this.name,
      });
      return;
    }
    this.count++;
  }

  /** kref_get_unless_zero(): false when the object is already being released. */
  getUnlessZero(): boolean {
    if (this.count === 0) return false;
    this.count++;
    return true;
  }

  /** kref_put(): calls `release` when the count reaches zero; returns whether it did. */
  put(release: () => void): boolean {
    if (this.count === 0) {
      this.k.report("refcount_underflow", `refcount_t: underflow (${this.name})`, {
        ref: this.name,
      });
      return false;
    }
    this.count--;
    if (this.count > 0) return false;
    release();
    return true;
  }
}
