/**
 * A small RDMA driver's mmap side, for tests and catalog scenarios: each ucontext gets
 * one doorbell page of the device's BAR (IO memory) and one driver page, both mappable
 * by the process.
 *
 * Models no single kernel file; it is shaped like the ->mmap of the drivers that use
 * the core API (mlx5_ib_mmap's UAR pages, efa_mmap): with the seed's API the page
 * offset of the mmap selects the object (0: doorbell, 1: driver page); with the
 * mmap-entry API the driver inserts one entry per object at alloc_ucontext, hands the
 * offsets to user space, looks the entry up in ->mmap, removes its entries at
 * dealloc_ucontext and frees the driver page in ->mmap_free once no VMA maps it.
 * Hot unplug (pciRemove) releases the BAR after uverbs has disassociated every file.
 */
import type { IbUcontext } from "../ucontext.ts";
import { EINVAL, ENOMEM } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { PAGE_SIZE, type Page } from "../../../mm/page.ts";
import type { IoRegion, PhysMem } from "../../../mm/physMem.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import {
  RdmaUserMmapEntry,
  rdmaUserMmapEntryGet,
  rdmaUserMmapEntryInsert,
  rdmaUserMmapEntryPut,
  rdmaUserMmapEntryRemove,
  rdmaUserMmapGetOffset,
} from "./mmapEntry.ts";
import type { UverbsDriver } from "./uverbsDevice.ts";
import { rdmaUserMmapIo, rdmaUserMmapPage } from "./userMmap.ts";

/** The seed API's fixed mmap offsets (in pages). */
export const DOORBELL_PGOFF = 0;
export const DRIVER_PAGE_PGOFF = 1;

/** A driver object embedding its mmap entry (container_of). */
export class DoorbellMmapEntry extends RdmaUserMmapEntry {
  constructor(
    ucontext: IbUcontext,
    readonly pfn: number,
    /** The driver page this entry maps, or null for the doorbell. */
    readonly page: Page | null,
  ) {
    super(ucontext, "doorbell_mmap_entry");
  }
}

/** The driver's per-ucontext state. */
interface DoorbellCtx {
  readonly doorbellPfn: number;
  readonly page: Page;
  doorbellEntry: DoorbellMmapEntry | null;
  pageEntry: DoorbellMmapEntry | null;
}

/** How the driver names its objects to mmap: fixed offsets, or mmap entries. */
interface DoorbellMmapScheme {
  allocUcontext(ucontext: IbUcontext, ctx: DoorbellCtx): KGen<number>;
  mmap(ucontext: IbUcontext, ctx: DoorbellCtx, vma: VmAreaStruct): KGen<number>;
  deallocUcontext(driver: DoorbellDriver, ctx: DoorbellCtx): void;
  /** The byte offsets user space passes to mmap() for the doorbell and the page. */
  offsets(ctx: DoorbellCtx): { doorbell: number; page: number };
}

const fixedOffsetScheme: DoorbellMmapScheme = {
  *allocUcontext(): KGen<number> {
    return 0;
  },
  *mmap(ucontext, ctx, vma): KGen<number> {
    if (vma.vmPgoff === DOORBELL_PGOFF) {
      return yield* rdmaUserMmapIo(ucontext, vma, ctx.doorbellPfn, PAGE_SIZE, "noncached");
    }
    if (vma.vmPgoff === DRIVER_PAGE_PGOFF) {
      return yield* rdmaUserMmapPage(ucontext, vma, ctx.page, PAGE_SIZE);
    }
    return EINVAL;
  },
  deallocUcontext(driver, ctx): void {
    driver.phys.putPage(ctx.page); // the seed's promise: no VMA maps it any more
  },
  offsets(): { doorbell: number; page: number } {
    return { doorbell: DOORBELL_PGOFF * PAGE_SIZE, page: DRIVER_PAGE_PGOFF * PAGE_SIZE };
  },
};

const mmapEntryScheme: DoorbellMmapScheme = {
  *allocUcontext(ucontext, ctx): KGen<number> {
    const db = new DoorbellMmapEntry(ucontext, ctx.doorbellPfn, null);
    let ret = yield* rdmaUserMmapEntryInsert(ucontext, db, PAGE_SIZE);
    if (ret < 0) return ret;
    ctx.doorbellEntry = db;
    const pg = new DoorbellMmapEntry(ucontext, ctx.page.pfn, ctx.page);
    ret = yield* rdmaUserMmapEntryInsert(ucontext, pg, PAGE_SIZE);
    if (ret < 0) return ret;
    ctx.pageEntry = pg;
    return 0;
  },
  *mmap(ucontext, _ctx, vma): KGen<number> {
    const entry = rdmaUserMmapEntryGet(ucontext, vma);
    if (!(entry instanceof DoorbellMmapEntry)) {
      if (entry !== null) rdmaUserMmapEntryPut(entry);
      return EINVAL;
    }
    const ret = yield* rdmaUserMmapIo(ucontext, vma, entry.pfn, PAGE_SIZE, "noncached", entry);
    rdmaUserMmapEntryPut(entry);
    return ret;
  },
  deallocUcontext(_driver, ctx): void {
    rdmaUserMmapEntryRemove(ctx.doorbellEntry);
    rdmaUserMmapEntryRemove(ctx.pageEntry);
    ctx.doorbellEntry = null;
    ctx.pageEntry = null;
  },
  offsets(ctx): { doorbell: number; page: number } {
    const db = ctx.doorbellEntry;
    const pg = ctx.pageEntry;
    if (db === null || pg === null) throw new Error("ucontext has no mmap entries");
    return { doorbell: rdmaUserMmapGetOffset(db), page: rdmaUserMmapGetOffset(pg) };
  },
};

/** The schemes by uverbs mmap design name. */
const SCHEMES: Readonly<Record<string, DoorbellMmapScheme>> = {
  seed: fixedOffsetScheme,
  entry: mmapEntryScheme,
};

export class DoorbellDriver implements UverbsDriver {
  /** The BAR: one doorbell page per ucontext, handed out round robin. */
  readonly bar: IoRegion;
  private readonly scheme: DoorbellMmapScheme;
  private readonly ctxs = new Map<IbUcontext, DoorbellCtx>();
  private nextUar = 0;

  constructor(
    readonly phys: PhysMem,
    designName: string,
    barPages = 8,
  ) {
    const scheme = SCHEMES[designName];
    if (scheme === undefined) throw new Error(`no doorbell mmap scheme for design ${designName}`);
    this.scheme = scheme;
    this.bar = phys.allocIoRegion("doorbell_bar", barPages);
  }

  *allocUcontext(ucontext: IbUcontext): KGen<number> {
    const page = this.phys.allocPage("kernel");
    if (page === null) return ENOMEM;
    const uar = this.nextUar++ % this.bar.npages;
    const ctx: DoorbellCtx = {
      doorbellPfn: this.bar.basePfn + uar,
      page,
      doorbellEntry: null,
      pageEntry: null,
    };
    this.ctxs.set(ucontext, ctx);
    const ret = yield* this.scheme.allocUcontext(ucontext, ctx);
    if (ret < 0) {
      this.scheme.deallocUcontext(this, ctx);
      this.ctxs.delete(ucontext);
    }
    return ret;
  }

  *deallocUcontext(ucontext: IbUcontext): KGen {
    const ctx = this.ctxOf(ucontext);
    this.scheme.deallocUcontext(this, ctx);
    this.ctxs.delete(ucontext);
  }

  mmap(ucontext: IbUcontext, vma: VmAreaStruct): KGen<number> {
    return this.scheme.mmap(ucontext, this.ctxOf(ucontext), vma);
  }

  mmapFree(entry: RdmaUserMmapEntry): void {
    if (entry instanceof DoorbellMmapEntry && entry.page !== null) this.phys.putPage(entry.page);
  }

  /** The mmap() offsets of the doorbell and the driver page of `ucontext`. */
  offsets(ucontext: IbUcontext): { doorbell: number; page: number } {
    return this.scheme.offsets(this.ctxOf(ucontext));
  }

  /** The doorbell pfn and driver page of `ucontext`. */
  objects(ucontext: IbUcontext): { doorbellPfn: number; page: Page } {
    const ctx = this.ctxOf(ucontext);
    return { doorbellPfn: ctx.doorbellPfn, page: ctx.page };
  }

  /** PCI hot unplug, after ib_uverbs_remove_one: the BAR disappears. */
  pciRemove(): void {
    this.bar.release();
  }

  private ctxOf(ucontext: IbUcontext): DoorbellCtx {
    const ctx = this.ctxs.get(ucontext);
    if (ctx === undefined) throw new Error(`${ucontext.objName} has no doorbell context`);
    return ctx;
  }
}
