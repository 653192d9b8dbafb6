/**
 * The virtual clock: nanoseconds that pass only when the simulation says so.
 *
 * Models jiffies and hrtimers (kernel/time/) without any wall-clock input. Time moves
 * in three ways only: when every task that could run is waiting on time, the scheduler
 * jumps to the earliest timer; under free timing the strategy may choose to jump to it
 * earlier (see timing.ts); or a task charges an explicit cost (a UMR, a DMA, a wire hop)
 * with `advance`. Timers due at the same instant fire in the order they were armed, so
 * the result depends on nothing but the run's own history.
 */

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

export const NSEC_PER_USEC = 1_000;
export const NSEC_PER_MSEC = 1_000_000;
export const NSEC_PER_SEC = 1_000_000_000;

export class VirtualClock {
  private nowNs = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];

  /** The current virtual time in nanoseconds. */
  now(): number {
    return this.nowNs;
  }

  /** Charges `ns` of virtual time; timers that fall due fire at the next step. */
  advance(ns: number): void {
    if (!(ns >= 0 && Number.isFinite(ns))) {
      throw new RangeError(`VirtualClock.advance needs a finite ns >= 0, got ${ns}`);
    }
    this.nowNs += ns;
  }

  /** Arms a one-shot timer `delayNs` from now; returns its cancel function. */
  arm(delayNs: number, fire: () => void): () => void {
    if (!(delayNs >= 0 && Number.isFinite(delayNs))) {
      throw new RangeError(`timer delay must be a finite ns >= 0, got ${delayNs}`);
    }
    const timer: Timer = { at: this.nowNs + delayNs, seq: this.seq++, fire, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** True when a live timer is armed, due or not. */
  hasArmed(): boolean {
    this.dropCancelled();
    return this.heap.length > 0;
  }

  /** True when a live timer is due at or before now. */
  hasDue(): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    return top !== undefined && top.at <= this.nowNs;
  }

  /** Fires every timer due now, in arming order. */
  fireDue(): void {
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (top === undefined || top.at > this.nowNs) return;
      this.pop();
      top.fire();
    }
  }

  /**
   * Jumps to the earliest live timer and fires all timers due then. Returns false when
   * no timer is armed, so nothing can ever happen again.
   */
  jumpToNextTimer(): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined) return false;
    if (top.at > this.nowNs) this.nowNs = top.at;
    this.fireDue();
    return true;
  }

  private dropCancelled(): void {
    while (this.heap[0]?.cancelled === true) this.pop();
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Timer;
      if (!this.less(timer, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = timer;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.less(h[r] as Timer, h[l] as Timer) ? r : l;
      const child = h[c] as Timer;
      if (!this.less(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}
