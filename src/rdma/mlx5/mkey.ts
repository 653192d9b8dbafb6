/**
 * Memory keys and their translation tables, as the device holds them.
 *
 * Models the mkey context of mlx5 hardware (drivers/net/ethernet/mellanox/mlx5/core/mr.c,
 * include/linux/mlx5/device.h): a key names a VA range with an access mode and a
 * translation. An MTT mkey translates page by page; for ODP MRs each MTT entry carries
 * its own read / write bits (MLX5_IB_MTT_READ / _WRITE), so a zapped entry makes the
 * device fault instead of touching memory. A KSM mkey (the implicit MR's parent) points
 * each fixed-size slot at a child mkey, or at the null mkey when the slot is empty.
 *
 * An MTT entry is stored as one number: (pfn + 1) * 4 | WRITE << 1 | READ; 0 is an empty
 * entry. Beside it the frame's generation at the time the entry was written, so a check
 * can tell an entry that points at a frame freed since.
 */
import type { DevicePageTable } from "../../mm/devicePageTable.ts";
import type { MmStruct } from "../../mm/mmStruct.ts";
import { indexRange } from "../../sim/objectAccess.ts";
import { SparsePageArray } from "../core/sparsePageArray.ts";

export const MLX5_IB_MTT_READ = 1 << 0;
export const MLX5_IB_MTT_WRITE = 1 << 1;

/** MLX5_UMR_MTT_ALIGNMENT (64 bytes) in 8-byte MTT entries: UMRs write whole blocks. */
export const MLX5_UMR_MTT_BLOCK_ENTRIES = 8;

export type MkeyKind = "mtt" | "ksm" | "null";

export function mttEntry(pfn: number, read: boolean, write: boolean): number {
  return (pfn + 1) * 4 + (write ? MLX5_IB_MTT_WRITE : 0) + (read ? MLX5_IB_MTT_READ : 0);
}

/**
 * The trace's object id of an mkey (`mkey:322`) or of its translation entries [idx,
 * idx + count) (`mkey:322[0]`, `mkey:322[0..7]`): MTT entries or KSM slots.
 */
export function mkeyId(key: number, idx?: number, count = 1): string {
  return idx === undefined ? `mkey:${key}` : `mkey:${key}${indexRange(idx, count)}`;
}

export function mttPfn(entry: number): number {
  return Math.floor(entry / 4) - 1;
}

export function mttReadable(entry: number): boolean {
  return (entry & MLX5_IB_MTT_READ) !== 0;
}

export function mttWritable(entry: number): boolean {
  return (entry & MLX5_IB_MTT_WRITE) !== 0;
}

export class Mlx5Mkey {
  /** MTT translation (kind "mtt"): one entry per page of `pageShift`. */
  readonly mtt: SparsePageArray | null;
  /** Frame generation + 1 recorded with each MTT entry. */
  readonly mttGen: SparsePageArray | null;
  /** KSM slots (kind "ksm"): the child mkey of each slot, or null (the null mkey). */
  readonly ksm: Map<number, Mlx5Mkey> | null;
  /** False once destroyed: the device refuses the key. */
  valid = true;
  /**
   * An ODP MTT's translations as the device-translation oracle sees them (mttMirror.ts):
   * null while the device cannot reach them (no UMR yet, the key disabled, an implicit
   * child no valid KSM slot points at).
   */
  mirror: DevicePageTable | null = null;
  /** The mm the MTT mirrors (its ODP umem's), once a UMR wrote it; null for pinned MRs. */
  mirrorMm: MmStruct | null = null;
  /**
   * An implicit child's MTT: the device reaches it only through its parent's KSM slot,
   * never by its own key (which the driver gives no one).
   */
  reachedThroughKsm = false;
  /** The KSM mkey whose slot last pointed at this one (an implicit child's parent). */
  ksmParent: Mlx5Mkey | null = null;

  constructor(
    readonly key: number,
    readonly kind: MkeyKind,
    readonly pdn: number,
    readonly iova: number,
    readonly length: number,
    readonly pageShift: number,
    /** KSM slot size in bytes (kind "ksm"). */
    readonly slotSize = 0,
  ) {
    const entries = kind === "mtt" ? Math.ceil(length / 2 ** pageShift) : 0;
    this.mtt = kind === "mtt" ? new SparsePageArray(entries) : null;
    this.mttGen = kind === "mtt" ? new SparsePageArray(entries) : null;
    this.ksm = kind === "ksm" ? new Map() : null;
  }
}
