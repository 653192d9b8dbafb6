/**
 * A device that mirrors part of a process address space through an interval notifier,
 * written the way a driver author would against odpsim's public API: the tutorial's
 * driver (docs/your-own-design.md). Two bugs sit behind defects a run can switch on:
 *
 *   mirror-no-read-retry        the fault path installs without mmu_interval_read_retry
 *   mirror-invalidate-unlocked  ->invalidate clears the page table without the driver lock
 *
 * Fault path: read_begin, hmm_range_fault under mmap_read_lock, driver lock, read_retry
 * (start over if an invalidation came in), install, unlock. Invalidate: driver lock,
 * set_seq, drop the range, unlock.
 */
import {
  DevicePageTable,
  EBUSY,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_WRITE,
  KObject,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MADV_DONTNEED,
  Mutex,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  cpuWrite,
  hmmPfnHas,
  hmmPfnToPfn,
  hmmRangeFault,
  madvise,
  mmap,
  mmapReadLock,
  mmapReadUnlock,
  mmgetNotZero,
  mmput,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  newHost,
  MmuIntervalNotifier,
  type HmmRange,
  type KGen,
  type MmStruct,
  type MmuIntervalNotifierOps,
  type Scenario,
} from "odpsim";

export const defects = ["mirror-no-read-retry", "mirror-invalidate-unlocked"];

const PAGES = 2;

/** The driver's per-mirror state: its lock, its page table, its notifier. */
class Mirror extends KObject {
  readonly lock: Mutex;
  readonly pt: DevicePageTable;
  readonly notifier: MmuIntervalNotifier<Mirror>;
  constructor(readonly mm: MmStruct) {
    super(mm.k.kasan, "mirror");
    this.lock = new Mutex(mm.k, "mirror.lock");
    this.pt = new DevicePageTable(mm.k, this.objName, mm);
    this.notifier = new MmuIntervalNotifier(mirrorOps, this);
  }
}

const mirrorOps: MmuIntervalNotifierOps<Mirror> = {
  name: "mirror",
  *invalidate(sub, range, curSeq) {
    const m = sub.container;
    const locked = !m.mm.k.hasDefect("mirror-invalidate-unlocked");
    if (locked) yield* m.lock.lock();
    mmuIntervalSetSeq(sub, curSeq);
    m.pt.drop(range.start, range.end);
    if (locked) m.lock.unlock();
    return true;
  },
};

/** Faults [start, start + PAGES pages) into the device page table. */
function* mirrorFault(m: Mirror, start: number): KGen<number> {
  const range: HmmRange = {
    notifier: m.notifier,
    notifierSeq: 0,
    start,
    end: start + PAGES * PAGE_SIZE,
    hmmPfns: new Array<number>(PAGES).fill(0),
    hmmGenerations: new Array<number>(PAGES).fill(0),
    defaultFlags: HMM_PFN_REQ_FAULT,
    pfnFlagsMask: 0,
  };
  if (!mmgetNotZero(m.mm)) return 0;
  for (;;) {
    range.notifierSeq = yield* mmuIntervalReadBegin(m.notifier);
    yield* mmapReadLock(m.mm);
    const ret = yield* hmmRangeFault(range);
    mmapReadUnlock(m.mm);
    if (ret === EBUSY) continue;
    if (ret !== 0) break;
    yield* m.lock.lock();
    const check = !m.mm.k.hasDefect("mirror-no-read-retry");
    if (check && mmuIntervalReadRetry(m.notifier, range.notifierSeq)) {
      m.lock.unlock();
      continue;
    }
    for (let i = 0; i < PAGES; i++) {
      const entry = range.hmmPfns[i] ?? 0;
      const write = hmmPfnHas(entry, HMM_PFN_WRITE);
      const generation = range.hmmGenerations?.[i] ?? 0;
      m.pt.map(start + i * PAGE_SIZE, { pfn: hmmPfnToPfn(entry), write, generation });
      yield "mirror: device pte written"; // another CPU may run between two entries
    }
    m.lock.unlock();
    break;
  }
  yield* mmput(m.mm);
  return 0;
}

/** The device reads each mirrored page (a miss means it would fault again). */
function* deviceReads(m: Mirror, start: number): KGen {
  yield* mirrorFault(m, start);
  for (let i = 0; i < PAGES; i++) {
    yield* m.lock.lock();
    m.pt.access(start + i * PAGE_SIZE, false);
    m.lock.unlock();
  }
}

const scenario: Scenario = {
  name: "interval-mirror",
  description:
    "interval-mirror v1: mirror 2 pages; thread device: fault + read; thread zap: MADV_DONTNEED",
  build(ctx) {
    const { k, proc } = newHost(ctx, { frames: 32 });
    proc.spawnThread("setup", function* (): KGen {
      const mm = proc.mm;
      if (mm === null) return;
      const len = PAGES * PAGE_SIZE;
      const addr = yield* mmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      yield* cpuWrite(mm, addr, new Uint8Array(len).fill(1));
      const m = new Mirror(mm);
      if ((yield* mmuIntervalNotifierInsert(m.notifier, mm, addr, len)) !== 0) return;
      const device = proc.spawnThread("device", () => deviceReads(m, addr));
      const zap = proc.spawnThread("zap", () => madvise(mm, addr, len, MADV_DONTNEED));
      yield* k.join(device);
      yield* k.join(zap);
      yield* mmuIntervalNotifierRemove(m.notifier);
      m.pt.destroy();
    });
    return k;
  },
};

export default scenario;
