/**
 * The mlx5 IB device: the driver's per-device state and the hardware it drives.
 *
 * Models struct mlx5_ib_dev (drivers/infiniband/hw/mlx5/mlx5_ib.h) for ODP: the mkey
 * table the hardware looks keys up in, mr_srcu (fault handlers hold it while they use
 * an MR found by key), the page-fault workqueue, the ODP capabilities, the size an
 * implicit MR's child covers, and odpsim's cost model. DMA observers are the narrow hook through which oracles see every access
 * the device makes to memory.
 */
import type { Kernel } from "../../sim/kernel.ts";
import { Mutex } from "../../sim/sync/mutex.ts";
import { SrcuStruct } from "../../sim/sync/srcu.ts";
import { Workqueue } from "../../sim/sync/workqueue.ts";
import type { PhysMem } from "../../mm/physMem.ts";
import { IbDevice } from "../core/ibDevice.ts";
import {
  IB_ODP_SUPPORT,
  IB_ODP_SUPPORT_IMPLICIT,
  IB_ODP_SUPPORT_READ,
  IB_ODP_SUPPORT_RECV,
  IB_ODP_SUPPORT_SEND,
  IB_ODP_SUPPORT_WRITE,
  type IbOdpCaps,
} from "../core/ibVerbs.ts";
import { DEFAULT_COST_MODEL, type CostModel } from "./costModel.ts";
import type { Mlx5Mkey } from "./mkey.ts";
import type { Mlx5IbMr } from "./mlx5IbMr.ts";

/** One access the device made to host memory through a translation. */
export interface DmaAccess {
  readonly dev: Mlx5IbDev;
  readonly mkey: Mlx5Mkey;
  /** The VA (iova) the access was for, and the frame it went to. */
  readonly va: number;
  readonly pfn: number;
  readonly write: boolean;
  /** The frame's generation recorded when the translation was written. */
  readonly mappedGeneration: number;
}

export type DmaObserver = (access: DmaAccess) => void;

/** A device page fault as the driver resolved it (ret: pages, -EAGAIN, or fatal). */
export interface PageFaultOutcome {
  readonly dev: Mlx5IbDev;
  readonly key: number;
  readonly va: number;
  readonly write: boolean;
  readonly ret: number;
  /** The translation entries (object ids) the faulting access read and found wanting. */
  readonly missed: readonly string[];
}

export type PageFaultObserver = (fault: PageFaultOutcome) => void;

/** The ODP capabilities of seed 001 (RC send/recv/read/write, UD send) plus implicit. */
export const MLX5_ODP_CAPS: IbOdpCaps = {
  generalCaps: IB_ODP_SUPPORT | IB_ODP_SUPPORT_IMPLICIT,
  perTransportCaps: {
    rcOdpCaps:
      IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_RECV | IB_ODP_SUPPORT_WRITE | IB_ODP_SUPPORT_READ,
    ucOdpCaps: 0,
    udOdpCaps: IB_ODP_SUPPORT_SEND,
    xrcOdpCaps: 0,
  },
};

/** MLX5_IMR_MTT_SIZE by default: each implicit child covers 1 GiB. */
export const MLX5_IMR_MTT_SIZE = 2 ** 30;

export interface Mlx5DevOptions {
  readonly odpCaps?: IbOdpCaps;
  readonly cost?: Partial<CostModel>;
}

export class Mlx5IbDev extends IbDevice {
  /** The hardware's mkey table: what DMA translates through. */
  readonly mkeys = new Map<number, Mlx5Mkey>();
  /** The driver's MR of each key (container_of from the looked-up mkey). */
  readonly mrs = new Map<number, Mlx5IbMr>();
  readonly mrSrcu: SrcuStruct;
  readonly pageFaultWq: Workqueue;
  /** umrc->sem: the one UMR QP, so UMRs run one at a time in posting order. */
  readonly umrSem: Mutex;
  readonly odpCaps: IbOdpCaps;
  readonly cost: CostModel;
  readonly dmaObservers: DmaObserver[] = [];
  readonly pageFaultObservers: PageFaultObserver[] = [];
  /** Hot-unplugged (mlx5IbRemove): the device does no more DMA. */
  removed = false;
  /**
   * MLX5_IMR_MTT_SIZE: the bytes each implicit child covers, one KSM slot of the parent
   * (a compile-time constant of the real driver; settable here so a scenario can span
   * several children with a small buffer: mlx5SetImrMttSize).
   */
  imrMttSize = MLX5_IMR_MTT_SIZE;
  /** Device page faults raised and not yet resumed (a trace counter). */
  faultsInFlight = 0;
  private faultFlows = 0;
  private nextKeyIndex = 1;
  private nextPdn = 1;

  constructor(
    k: Kernel,
    name: string,
    readonly phys: PhysMem,
    options: Mlx5DevOptions = {},
  ) {
    super(k, name);
    this.mrSrcu = new SrcuStruct(k, `mr_srcu(${name})`);
    this.umrSem = new Mutex(k, `umrc_sem(${name})`, "umrc_sem");
    this.pageFaultWq = new Workqueue(k, `mlx5_ib_page_fault(${name})`, { workers: 1 });
    this.odpCaps = options.odpCaps ?? MLX5_ODP_CAPS;
    this.cost = { ...DEFAULT_COST_MODEL, ...options.cost };
  }

  /** A fresh mkey number: index << 8 | variant, as mlx5 builds keys. */
  allocKey(): number {
    return mlx5MkeyOfIndex(this.nextKeyIndex++);
  }

  allocPdn(): number {
    return this.nextPdn++;
  }

  /** A fresh id linking one fault's trace events into a Perfetto flow. */
  nextFaultFlow(): number {
    return ++this.faultFlows;
  }

  /** Tells every observer how a page fault ended; called at the resume. */
  notePageFault(fault: PageFaultOutcome): void {
    for (const observe of this.pageFaultObservers) observe(fault);
  }

  /** Tells every observer about a DMA; called by the device before it moves bytes. */
  observeDma(access: DmaAccess): void {
    for (const observe of this.dmaObservers) observe(access);
  }
}

/** The variant byte every mkey of this model carries (mlx5 varies it per reuse of an index). */
const MKEY_VARIANT = 0x42;

function mlx5MkeyOfIndex(index: number): number {
  return (index << 8) | MKEY_VARIANT;
}

/**
 * The key `n` allocations after `key` (its index plus n, the same variant): what a
 * program that knows one of its keys can guess the device will hand out next.
 */
export function mlx5MkeyAfter(key: number, n: number): number {
  return mlx5MkeyOfIndex((key >>> 8) + n);
}
