/**
 * The dmirror device's commands: READ, WRITE and SNAPSHOT of a VA range.
 *
 * Models the ioctl side of lib/test_hmm.c: dmirror_fops_unlocked_ioctl(),
 * dmirror_read() / dmirror_write() (copy between a bounce buffer and the frames the
 * device page table maps; on a miss, dmirror_fault() the rest of the range and try
 * again, counting `faults`), dmirror_fault() / dmirror_range_fault() (64 pages at a
 * time: mmu_interval_read_begin, hmm_range_fault under mmap_read_lock, then under the
 * dmirror mutex mmu_interval_read_retry, then dmirror_do_fault() fills the device page
 * table), and dmirror_snapshot() / dmirror_range_snapshot() (no faulting: a temporary
 * interval notifier over the chunk, and one permission byte per page from
 * dmirror_mkentry()). `cpages` counts the pages copied or described.
 *
 * Simplification: the caller's buffer (cmd.ptr) is a Uint8Array the test owns rather
 * than memory of the simulated process, so copy_to_user / copy_from_user cannot fault.
 */
import { EBUSY, EFAULT, EINVAL, ENOENT } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { NSEC_PER_MSEC } from "../sim/clock.ts";
import { mmapReadLock, mmapReadUnlock, mmgetNotZero, mmput } from "../mm/mmStruct.ts";
import {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnHas,
  hmmPfnToMapOrder,
  hmmPfnToPfn,
  hmmRangeFault,
  type HmmRange,
} from "../mm/notifier/hmm.ts";
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  type MmuIntervalNotifierOps,
} from "../mm/notifier/mmuIntervalNotifier.ts";
import { HPAGE_PMD_ORDER, PAGE_SIZE } from "../mm/page.ts";
import type { Dmirror } from "./dmirror.ts";

/** The ioctls of include/uapi's test_hmm_uapi.h that odpsim models. */
export type HmmDmirrorCommand = "READ" | "WRITE" | "SNAPSHOT";

/** struct hmm_dmirror_cmd. */
export interface HmmDmirrorCmd {
  /** Start of the VA range, page aligned. */
  addr: number;
  /** The caller's buffer: data read / to write, or one permission byte per page. */
  ptr: Uint8Array;
  npages: number;
  /** Out: pages read, written or snapshotted. */
  cpages: number;
  /** Out: dmirror_fault() calls made. */
  faults: number;
}

/** Snapshot permission bytes (HMM_DMIRROR_PROT_*). */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
export const HMM_DMIRROR_PROT_NONE = 0x00;
export const HMM_DMIRROR_PROT_READ = 0x01;
export const HMM_DMIRROR_PROT_WRITE = 0x02;
export const HMM_DMIRROR_PROT_PMD = 0x04;
export const HMM_DMIRROR_PROT_PUD = 0x08;
export const HMM_DMIRROR_PROT_ZERO = 0x10;

/** HMM_RANGE_DEFAULT_TIMEOUT: how long a fault keeps retrying against invalidations. */
export const HMM_RANGE_DEFAULT_TIMEOUT_MS = 1000;

/** The number of entries of dmirror's on-stack pfns[] array: 64 pages per chunk. */
const CHUNK_PAGES = 64;

/** struct dmirror_bounce. */
interface DmirrorBounce {
  readonly ptr: Uint8Array;
  readonly addr: number;
  cpages: number;
}

/**
 * dmirror_range_fault(): read_begin / hmm_range_fault / read_retry until the range's
 * result is still valid under the mutex, then dmirror_do_fault(). -EBUSY after the
 * timeout.
 */
function* dmirrorRangeFault(dmirror: Dmirror, range: HmmRange): KGen<number> {
  const mm = dmirror.mm;
  const k = mm.k;
  const timeout = k.clock.now() + HMM_RANGE_DEFAULT_TIMEOUT_MS * NSEC_PER_MSEC;
  for (;;) {
    if (k.clock.now() > timeout) return EBUSY;
    range.notifierSeq = yield* mmuIntervalReadBegin(range.notifier);
    yield* mmapReadLock(mm);
    const ret = yield* hmmRangeFault(range);
    mmapReadUnlock(mm);
    if (ret === EBUSY) continue;
    if (ret !== 0) return ret;
    yield* dmirror.mutex.lock();
    if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {
      dmirror.mutex.unlock();
      continue;
    }
    break;
  }
  const ret = dmirrorDoFault(dmirror, range);
  dmirror.mutex.unlock();
  return ret;
}

/** dmirror_do_fault(): copies the faulted range into the device page table. */
function dmirrorDoFault(dmirror: Dmirror, range: HmmRange): number {
  const k = dmirror.mdevice.k;
  for (let addr = range.start, i = 0; addr < range.end; addr += PAGE_SIZE, i++) {
    const entry = range.hmmPfns[i] ?? 0;
    // hmm_range_fault() was asked to populate, so success means every entry is valid.
    k.warnOn(hmmPfnHas(entry, HMM_PFN_ERROR), "dmirror_do_fault: HMM_PFN_ERROR entry");
    k.warnOn(!hmmPfnHas(entry, HMM_PFN_VALID), "dmirror_do_fault: entry not valid");
    const write = hmmPfnHas(entry, HMM_PFN_WRITE);
    if (!write && k.warnOn(hmmPfnHas(range.defaultFlags, HMM_PFN_REQ_WRITE), "write not granted")) {
      return EFAULT;
    }
    const generation = range.hmmGenerations?.[i] ?? 0;
    dmirror.pt.map(addr, { pfn: hmmPfnToPfn(entry), write, generation });
  }
  return 0;
}

/** dmirror_fault(): faults [start, end) in, 64 pages at a time, under an mmget. */
function* dmirrorFault(dmirror: Dmirror, start: number, end: number, write: boolean): KGen<number> {
  const mm = dmirror.mm;
  const range: HmmRange = {
    notifier: dmirror.notifier,
    notifierSeq: 0,
    start: 0,
    end: 0,
    hmmPfns: new Array<number>(CHUNK_PAGES).fill(0),
    hmmGenerations: new Array<number>(CHUNK_PAGES).fill(0),
    pfnFlagsMask: 0,
    defaultFlags: HMM_PFN_REQ_FAULT + (write ? HMM_PFN_REQ_WRITE : 0),
    devPrivateOwner: dmirror.mdevice,
  };
  // The mm is the mirrored process's: take a user reference first.
  if (!mmgetNotZero(mm)) return 0;
  let ret = 0;
  for (let addr = start; addr < end; addr = range.end) {
    range.start = addr;
    range.end = Math.min(addr + CHUNK_PAGES * PAGE_SIZE, end);
    ret = yield* dmirrorRangeFault(dmirror, range);
    if (ret !== 0) break;
  }
  yield* mmput(mm);
  return ret;
}

/** dmirror_do_read(): copies mapped frames into the bounce buffer; -ENOENT on a miss. */
function dmirrorDoRead(
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
): number {
  const phys = dmirror.mm.phys;
  let off = start - bounce.addr;
  for (let va = start; va < end; va += PAGE_SIZE) {
    const entry = dmirror.pt.access(va, false);
    if (entry === undefined) return ENOENT;
    phys.readBytes(entry.pfn, 0, bounce.ptr, off, PAGE_SIZE);
    off += PAGE_SIZE;
    bounce.cpages++;
  }
  return 0;
}

/** dmirror_do_write(): copies the bounce buffer into writable mapped frames. */
function dmirrorDoWrite(
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
): number {
  const phys = dmirror.mm.phys;
  let off = start - bounce.addr;
  for (let va = start; va < end; va += PAGE_SIZE) {
    const entry = dmirror.pt.access(va, true);
    if (entry === undefined) return ENOENT;
    phys.writeBytes(entry.pfn, 0, bounce.ptr.subarray(off, off + PAGE_SIZE));
    off += PAGE_SIZE;
    bounce.cpages++;
  }
  return 0;
}

/** The loop of dmirror_read() / dmirror_write(): copy, fault on a miss, copy again. */
function* dmirrorCopyLoop(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  bounce: DmirrorBounce,
  write: boolean,
): KGen<number> {
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  let start = cmd.addr;
  let ret: number;
  for (;;) {
    yield* dmirror.mutex.lock();
    ret = write
      ? dmirrorDoWrite(dmirror, start, end, bounce)
      : dmirrorDoRead(dmirror, start, end, bounce);
    dmirror.mutex.unlock();
    if (ret !== ENOENT) break;
    start = cmd.addr + bounce.cpages * PAGE_SIZE;
    ret = yield* dmirrorFault(dmirror, start, end, write);
    if (ret !== 0) break;
    cmd.faults++;
  }
  return ret;
}

/** dmirror_read(). */
function* dmirrorRead(dmirror: Dmirror, cmd: HmmDmirrorCmd): KGen<number> {
  const size = cmd.npages * PAGE_SIZE;
  const bounce: DmirrorBounce = { ptr: new Uint8Array(size), addr: cmd.addr, cpages: 0 };
  const ret = yield* dmirrorCopyLoop(dmirror, cmd, bounce, false);
  if (ret === 0) cmd.ptr.set(bounce.ptr.subarray(0, Math.min(size, cmd.ptr.length))); // copy_to_user
  cmd.cpages = bounce.cpages;
  return ret;
}

/** dmirror_write(). */
function* dmirrorWrite(dmirror: Dmirror, cmd: HmmDmirrorCmd): KGen<number> {
  const size = cmd.npages * PAGE_SIZE;
  if (cmd.ptr.length < size) return EFAULT; // copy_from_user of a short buffer
  const bounce: DmirrorBounce = { ptr: cmd.ptr.slice(0, size), addr: cmd.addr, cpages: 0 };
  const ret = yield* dmirrorCopyLoop(dmirror, cmd, bounce, true);
  cmd.cpages = bounce.cpages;
  return ret;
}

/** struct dmirror_interval: a snapshot's temporary notifier. */
class DmirrorInterval extends MmuIntervalNotifier {
  constructor(readonly dmirror: Dmirror) {
    super(dmirrorMrnOps);
  }
}

/** dmirror_snapshot_invalidate(): any invalidation voids the whole snapshot. */
function* dmirrorSnapshotInvalidate(
  sub: MmuIntervalNotifier,
  range: { blockable: boolean },
  curSeq: number,
): KGen<boolean> {
  if (!(sub instanceof DmirrorInterval)) throw new Error("dmirror_mrn_ops on a foreign notifier");
  const dmirror = sub.dmirror;
  if (range.blockable) yield* dmirror.mutex.lock();
  else if (!dmirror.mutex.trylock()) return false;
  mmuIntervalSetSeq(sub, curSeq);
  dmirror.mutex.unlock();
  return true;
}

/** dmirror_mrn_ops. */
const dmirrorMrnOps: MmuIntervalNotifierOps = {
  name: "dmirror_snapshot",
  invalidate: dmirrorSnapshotInvalidate,
};

/** dmirror_mkentry(): the permission byte a snapshot reports for one entry. */
function dmirrorMkentry(dmirror: Dmirror, entry: number): number {
  if (hmmPfnHas(entry, HMM_PFN_ERROR)) return HMM_DMIRROR_PROT_ERROR;
  if (!hmmPfnHas(entry, HMM_PFN_VALID)) return HMM_DMIRROR_PROT_NONE;
  let perm = dmirror.mm.phys.isZeroPfn(hmmPfnToPfn(entry))
    ? HMM_DMIRROR_PROT_ZERO
    : HMM_DMIRROR_PROT_NONE;
  perm |= hmmPfnHas(entry, HMM_PFN_WRITE) ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
  if (hmmPfnToMapOrder(entry) === HPAGE_PMD_ORDER) perm |= HMM_DMIRROR_PROT_PMD;
  return perm;
}

/** dmirror_range_snapshot(): one chunk, no faulting, `perm` filled on success. */
function* dmirrorRangeSnapshot(dmirror: Dmirror, range: HmmRange, perm: Uint8Array): KGen<number> {
  const mm = dmirror.mm;
  const k = mm.k;
  const timeout = k.clock.now() + HMM_RANGE_DEFAULT_TIMEOUT_MS * NSEC_PER_MSEC;
  const notifier = new DmirrorInterval(dmirror);
  range.notifier = notifier;
  let ret = yield* mmuIntervalNotifierInsert(
    notifier,
    mm,
    range.start,
    range.end - range.start,
    dmirrorMrnOps,
  );
  if (ret !== 0) return ret;
  for (;;) {
    if (k.clock.now() > timeout) {
      ret = EBUSY;
      break;
    }
    range.notifierSeq = yield* mmuIntervalReadBegin(notifier);
    yield* mmapReadLock(mm);
    ret = yield* hmmRangeFault(range);
    mmapReadUnlock(mm);
    if (ret === EBUSY) continue;
    if (ret !== 0) break;
    yield* dmirror.mutex.lock();
    if (mmuIntervalReadRetry(notifier, range.notifierSeq)) {
      dmirror.mutex.unlock();
      continue;
    }
    const n = (range.end - range.start) / PAGE_SIZE;
    for (let i = 0; i < n; i++) perm[i] = dmirrorMkentry(dmirror, range.hmmPfns[i] ?? 0);
    dmirror.mutex.unlock();
    break;
  }
  yield* mmuIntervalNotifierRemove(notifier);
  return ret;
}

/** dmirror_snapshot(). */
function* dmirrorSnapshot(dmirror: Dmirror, cmd: HmmDmirrorCmd): KGen<number> {
  const mm = dmirror.mm;
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  // The mm is the mirrored process's: take a user reference first.
  if (!mmgetNotZero(mm)) return EINVAL;
  const range: HmmRange = {
    notifier: dmirror.notifier,
    notifierSeq: 0,
    start: 0,
    end: 0,
    hmmPfns: new Array<number>(CHUNK_PAGES).fill(0),
    pfnFlagsMask: 0,
    defaultFlags: 0,
    devPrivateOwner: dmirror.mdevice,
  };
  const perm = new Uint8Array(CHUNK_PAGES);
  let ret = 0;
  for (let addr = cmd.addr; addr < end; addr = range.end) {
    range.start = addr;
    range.end = Math.min(addr + CHUNK_PAGES * PAGE_SIZE, end);
    range.hmmPfns.fill(0);
    ret = yield* dmirrorRangeSnapshot(dmirror, range, perm);
    if (ret !== 0) break;
    const n = (range.end - range.start) / PAGE_SIZE;
    if (cmd.ptr.length < cmd.cpages + n) {
      ret = EFAULT; // copy_to_user past the caller's buffer
      break;
    }
    cmd.ptr.set(perm.subarray(0, n), cmd.cpages);
    cmd.cpages += n;
  }
  yield* mmput(mm);
  return ret;
}

/** dmirror_fops_unlocked_ioctl(): validates the command, resets the counters, runs it. */
export function* dmirrorFopsUnlockedIoctl(
  dmirror: Dmirror,
  command: HmmDmirrorCommand,
  cmd: HmmDmirrorCmd,
): KGen<number> {
  dmirror.mdevice.k.kasan.check(dmirror, "dmirror ioctl");
  if (cmd.addr % PAGE_SIZE !== 0) return EINVAL;
  if (cmd.npages <= 0) return EINVAL;
  cmd.cpages = 0;
  cmd.faults = 0;
  switch (command) {
    case "READ":
      return yield* dmirrorRead(dmirror, cmd);
    case "WRITE":
      return yield* dmirrorWrite(dmirror, cmd);
    case "SNAPSHOT":
      return yield* dmirrorSnapshot(dmirror, cmd);
  }
}
