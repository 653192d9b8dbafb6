/**
 * The HMM test device: a "device" that mirrors a process address space.
 *
 * Models lib/test_hmm.c (the dmirror driver behind tools/testing/selftests/mm/
 * hmm-tests.c): struct dmirror_device (the character device; its address is the
 * owner a migration names), struct dmirror (one per open file: a mutex, a device page
 * table and one interval notifier over the whole address space of the opener),
 * dmirror_fops_open() / dmirror_fops_release(), and the invalidate callback
 * dmirror_interval_invalidate(): skip invalidations this device's own migrations
 * caused, take the mutex (trylock, and refuse, when the range is not blockable), record
 * the seq with mmu_interval_set_seq() and erase the range from the device page table.
 *
 * The device page table is the driver's xarray: VA page number → the mirrored frame
 * and whether the device may write it, kept as a DevicePageTable (src/mm/) so the
 * device-access oracle watches it as it watches mlx5's MTT. Like the original it holds
 * no page reference; the notifier is what keeps it from pointing at a freed frame.
 */
import { KObject } from "../sim/kasan.ts";
import type { Kernel } from "../sim/kernel.ts";
import { Mutex } from "../sim/sync/mutex.ts";
import type { KGen } from "../sim/task.ts";
import type { MmStruct } from "../mm/mmStruct.ts";
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  type MmuIntervalNotifierOps,
} from "../mm/notifier/mmuIntervalNotifier.ts";
import { ULONG_MAX } from "../mm/notifier/mnItree.ts";
import type { MmuNotifierRange } from "../mm/notifier/subscriptions.ts";
import { DevicePageTable } from "../mm/devicePageTable.ts";
import { pageAlignDown } from "../mm/page.ts";

/** struct dmirror_device: the /dev/hmm_dmirrorN a test opens. */
export class DmirrorDevice {
  constructor(
    readonly k: Kernel,
    readonly name: string,
  ) {}
}

/** struct dmirror: what one open of the device holds. */
export class Dmirror extends KObject {
  /** dmirror->mutex: serializes the device page table with the invalidations. */
  readonly mutex: Mutex;
  /** dmirror->pt: VA page number → entry. */
  readonly pt: DevicePageTable;
  readonly notifier: MmuIntervalNotifier<Dmirror>;

  constructor(
    readonly mdevice: DmirrorDevice,
    mm: MmStruct,
  ) {
    super(mdevice.k.kasan, "dmirror");
    this.mutex = new Mutex(mdevice.k, `dmirror(${mdevice.name}).mutex`, "dmirror.mutex");
    this.notifier = new MmuIntervalNotifier(dmirrorMinOps, this);
    this.pt = new DevicePageTable(mdevice.k, this.objName, mm);
  }

  /** The mirrored mm (dmirror->notifier.mm). */
  get mm(): MmStruct {
    const mm = this.notifier.mm;
    if (mm === null) throw new Error("dmirror: notifier not inserted");
    return mm;
  }
}

/** dmirror_do_update(): erases [start, end) from the device page table. */
export function dmirrorDoUpdate(dmirror: Dmirror, start: number, end: number): void {
  dmirror.pt.drop(start, end);
}

/** dmirror_interval_invalidate(). */
function* dmirrorIntervalInvalidate(
  sub: MmuIntervalNotifier<Dmirror>,
  range: MmuNotifierRange,
  curSeq: number,
): KGen<boolean> {
  const dmirror = sub.container;
  // The device's own migrations are invalidated as part of the migration itself.
  if (range.event === "MIGRATE" && range.owner === dmirror.mdevice) return true;
  if (range.blockable) yield* dmirror.mutex.lock();
  else if (!dmirror.mutex.trylock()) return false;
  mmuIntervalSetSeq(sub, curSeq);
  dmirrorDoUpdate(dmirror, range.start, range.end);
  dmirror.mutex.unlock();
  return true;
}

/** dmirror_min_ops. */
export const dmirrorMinOps: MmuIntervalNotifierOps<Dmirror> = {
  name: "dmirror",
  invalidate: dmirrorIntervalInvalidate,
};

/**
 * dmirror_fops_open(): a dmirror over the whole address space of `mm` (the opener's
 * current->mm, so the caller holds a user of it). Returns it, or -errno.
 */
export function* dmirrorFopsOpen(mdevice: DmirrorDevice, mm: MmStruct): KGen<Dmirror | number> {
  const dmirror = new Dmirror(mdevice, mm);
  const ret = yield* mmuIntervalNotifierInsert(
    dmirror.notifier,
    mm,
    0,
    pageAlignDown(ULONG_MAX),
    dmirrorMinOps,
  );
  if (ret !== 0) {
    dmirror.pt.destroy();
    mdevice.k.kasan.free(dmirror);
    return ret;
  }
  return dmirror;
}

/** dmirror_fops_release(): close(): the notifier goes, then the dmirror is freed. */
export function* dmirrorFopsRelease(dmirror: Dmirror): KGen {
  yield* mmuIntervalNotifierRemove(dmirror.notifier);
  dmirror.pt.destroy();
  dmirror.mdevice.k.kasan.free(dmirror);
}
