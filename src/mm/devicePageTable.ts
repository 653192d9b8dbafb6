/**
 * A device's mirror of a process address space, as every mirroring driver keeps one:
 * VA page → the frame the device translates it to, with the access it may make. The
 * driver says "I now translate va to frame f" (`map`, with the frame generation
 * hmm_range_fault reported) and "I dropped [start, end)" (`drop`, from its invalidate
 * callback), and every device access to host memory goes through `deviceAccess`, the
 * one checked path: the observers (the device-access oracle, src/check/oracles/) judge
 * it against the CPU page table and the frame's life.
 *
 * Models no single kernel file: the shape of lib/test_hmm.c's dmirror->pt xarray,
 * nouveau's and amdgpu's SVM page tables, mlx5's MTT. Like them it holds no page
 * reference: only the notifier keeps it from pointing at a freed frame, which is what
 * `framesFreed` lets an observer check at the moment a frame goes back to the
 * allocator (PhysMem's free path calls it), not only when the device next uses it.
 */
import { KernelGlobal, type Kernel } from "../sim/kernel.ts";
import { accessFields, objectId } from "../sim/objectAccess.ts";
import type { MmStruct } from "./mmStruct.ts";
import type { PhysMem } from "./physMem.ts";
import { PAGE_SIZE, frameId } from "./page.ts";

/** One translation a device holds. */
export interface DeviceTranslation {
  readonly pfn: number;
  /** The device may write through it. */
  readonly write: boolean;
  /** The frame's generation when the translation was made (Page.generation). */
  readonly generation: number;
  /**
   * Why the device still holds it although its driver meant to drop it (a zap that
   * failed), for the report of a frame freed under it.
   */
  readonly kept?: string;
}

/** One access a device makes to host memory through a translation it holds. */
export interface DeviceAccess {
  /** Who accessed: the device and its mirror (`dmirror#3`, `mlx5_0 mkey 0x300`). */
  readonly device: string;
  /** The memory the device reaches. */
  readonly phys: PhysMem;
  /** The address space the translation mirrors; null for memory it pins instead. */
  readonly mm: MmStruct | null;
  readonly va: number;
  readonly pfn: number;
  readonly write: boolean;
  /** The frame's generation recorded when the translation was written. */
  readonly mappedGeneration: number;
  /** Trace ids a report names for the access (its translation entry, the frame's life). */
  readonly objects: readonly string[];
  /** The device's own fields for a report (an mkey, an MTT index). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What watches device translations: the oracles. */
export interface DeviceTranslationObserver {
  /** A device access, before its bytes move. */
  readonly access?: (k: Kernel, access: DeviceAccess) => void;
  /** A frame freed while `table` still translates `va` to it (its generation then). */
  readonly freedWhileMapped?: (k: Kernel, table: DevicePageTable, va: number) => void;
}

interface DeviceTranslations {
  readonly observers: DeviceTranslationObserver[];
  /** The live page tables, in creation order (so checks run in a seed-free order). */
  readonly tables: Set<DevicePageTable>;
}

const DEVICE_TRANSLATIONS = new KernelGlobal("device page tables", (): DeviceTranslations => ({
  observers: [],
  tables: new Set(),
}));

/** Adds an observer of every device translation and access on `k`. */
export function addDeviceTranslationObserver(k: Kernel, o: DeviceTranslationObserver): void {
  k.global(DEVICE_TRANSLATIONS).observers.push(o);
}

/** The one checked device-access path: the observers see `access` before it happens. */
export function deviceAccess(k: Kernel, access: DeviceAccess): void {
  if (k.trace !== null) {
    k.event(access.write ? "device write" : "device read", {
      device: access.device,
      va: access.va,
      pfn: access.pfn,
      ...accessFields([...access.objects]),
    });
  }
  for (const o of k.global(DEVICE_TRANSLATIONS).observers) o.access?.(k, access);
}

/**
 * Frames [pfn, pfn + n) of `phys` go back to the allocator at generation `generation` (before
 * the bump): every table still translating to one of them is reported to the
 * observers. Called by PhysMem's free path.
 */
export function framesFreed(phys: PhysMem, pfn: number, n: number, generation: number): void {
  const k = phys.k;
  const dt = k.global(DEVICE_TRANSLATIONS);
  if (dt.tables.size === 0 || dt.observers.length === 0) return;
  for (const table of dt.tables) {
    // Each host has its own RAM: a pfn means something only within one PhysMem.
    if (table.mm.phys !== phys) continue;
    for (const [vpn, t] of table.entries()) {
      if (t.pfn < pfn || t.pfn >= pfn + n || t.generation !== generation) continue;
      for (const o of dt.observers) o.freedWhileMapped?.(k, table, vpn * PAGE_SIZE);
    }
  }
}

/** How a device that keeps its own translation structure (mlx5's MTT) mirrors it here. */
export interface DevicePageTableOptions {
  /**
   * The trace id of the device's own entry for `va` (`mkey:322[0]`), which reports name
   * instead of the table's; the device then traces its own writes, so `map` and `drop`
   * add no events of their own.
   */
  readonly entryId?: (va: number) => string;
}

/** A device's page table mirroring one mm. */
export class DevicePageTable {
  private readonly pt = new Map<number, DeviceTranslation>();
  private readonly id: string;
  private readonly ownEntryId: ((va: number) => string) | null;

  constructor(
    readonly k: Kernel,
    /** The device and its mirror, as reports name it. */
    readonly name: string,
    /** The mirrored address space. */
    readonly mm: MmStruct,
    options: DevicePageTableOptions = {},
  ) {
    this.id = objectId(`devpt(${name})`);
    this.ownEntryId = options.entryId ?? null;
    k.global(DEVICE_TRANSLATIONS).tables.add(this);
  }

  /** The trace id of the entry for `va` (a part of the table, or the device's own). */
  entryId(va: number): string {
    if (this.ownEntryId !== null) return this.ownEntryId(va);
    return `${this.id}[${Math.floor(va / PAGE_SIZE)}]`;
  }

  /** The device now translates the page of `va` to `t.pfn` (called under the driver lock). */
  map(va: number, t: DeviceTranslation): void {
    this.pt.set(Math.floor(va / PAGE_SIZE), t);
    if (this.k.trace !== null && this.ownEntryId === null) {
      this.k.event("device map", {
        device: this.name,
        va,
        pfn: t.pfn,
        ...accessFields([frameId(t.pfn, 1, t.generation)], [this.entryId(va)]),
      });
    }
  }

  /** The device dropped its translations of [start, end). */
  drop(start: number, end: number): void {
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.floor((end - 1) / PAGE_SIZE);
    let dropped = 0;
    if (last - first + 1 > this.pt.size) {
      for (const vpn of [...this.pt.keys()])
        if (vpn >= first && vpn <= last && this.pt.delete(vpn)) dropped++;
    } else {
      for (let vpn = first; vpn <= last; vpn++) if (this.pt.delete(vpn)) dropped++;
    }
    if (this.k.trace !== null && dropped > 0 && this.ownEntryId === null) {
      this.k.event("device unmap", {
        device: this.name,
        start,
        end,
        ...accessFields([], [`${this.id}[${first}..${last}]`]),
      });
    }
  }

  /**
   * The driver meant to drop [start, end) and could not (`why`): the translations stay,
   * and a report of a frame freed under one of them says why it was still there.
   */
  keep(start: number, end: number, why: string): void {
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.floor((end - 1) / PAGE_SIZE);
    // Walk whichever is shorter: the range, or the translations held (a 1 GiB child).
    const vpns =
      last - first + 1 > this.pt.size
        ? [...this.pt.keys()].filter((vpn) => vpn >= first && vpn <= last)
        : Array.from({ length: last - first + 1 }, (_, i) => first + i);
    for (const vpn of vpns) {
      const t = this.pt.get(vpn);
      if (t !== undefined) this.pt.set(vpn, { ...t, kept: why });
    }
  }

  /** The translation of the page of `va`, if any (a lookup, not an access). */
  lookup(va: number): DeviceTranslation | undefined {
    return this.pt.get(Math.floor(va / PAGE_SIZE));
  }

  /**
   * The device accesses the page of `va` through its translation, which must allow
   * `write`: the checked path (deviceAccess). Returns the translation used, or
   * undefined on a miss (the device must fault first).
   */
  access(va: number, write: boolean): DeviceTranslation | undefined {
    const t = this.lookup(va);
    if (t === undefined || (write && !t.write)) return undefined;
    deviceAccess(this.k, {
      device: this.name,
      phys: this.mm.phys,
      mm: this.mm,
      va,
      pfn: t.pfn,
      write,
      mappedGeneration: t.generation,
      objects: [this.entryId(va), frameId(t.pfn, 1, t.generation)],
      details: { device: this.name },
    });
    return t;
  }

  /** VA page number → translation, in VA-insertion order. */
  entries(): IterableIterator<[number, DeviceTranslation]> {
    return this.pt.entries();
  }

  get size(): number {
    return this.pt.size;
  }

  /** The device is gone: it translates nothing and is no longer watched. */
  destroy(): void {
    this.pt.clear();
    this.k.global(DEVICE_TRANSLATIONS).tables.delete(this);
  }
}
