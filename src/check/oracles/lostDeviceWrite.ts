/**
 * Oracle: what a device writes into a file page reaches the file. A page-cache page the
 * device stored to must not leave the page cache clean while its bytes differ from what
 * writeback last put on disk: those bytes would be lost, the file keeping the old ones.
 *
 *   lost_device_write  a file page the device wrote is dropped from the page cache
 *                      clean, its contents never written back
 *
 * Models no kernel file: it states the rule ib_umem_odp_unmap_dma_pages() keeps by
 * calling set_page_dirty() on every page its device could write ("a page the device
 * wrote is dirty before it is freed", for pages whose contents outlive the frame). A
 * device store sets no PTE dirty bit, so the page cache only learns of it from the
 * driver. The check fires at the moment of loss: when the clean page is evicted
 * (drop_caches, invalidate_mapping_pages), not at the end of the run. It watches through
 * the device's DMA observer hook and the page cache's observer hook only. Pages of
 * shmem files have no disk and are never evicted clean, so they are not tracked;
 * truncation discards contents on purpose and is not a loss.
 */
import { Inode } from "../../mm/file.ts";
import { PAGE_SIZE, frameId, type Page } from "../../mm/page.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { DmaAccess, Mlx5IbDev } from "../../rdma/mlx5/mlx5IbDev.ts";
import { OracleKinds } from "../violationKinds.ts";

/** What this oracle reports. */
export const LOST_DEVICE_WRITE_KINDS = new OracleKinds("lost device write", ["lost_device_write"]);

/** A file page the device stored to since it was last written back. */
interface DeviceWrittenPage {
  readonly generation: number;
  readonly va: number;
  readonly mkey: number;
}

export function attachLostDeviceWriteOracle(dev: Mlx5IbDev): void {
  const written = new Map<number, DeviceWrittenPage>();
  const watched = new WeakSet<Inode>();
  const watch = (inode: Inode): void => {
    if (watched.has(inode)) return;
    watched.add(inode);
    inode.observers.push({
      writeback(_inode, _index, page) {
        written.delete(page.pfn);
      },
      evict(evicted, index, page) {
        checkEviction(dev.k, written, evicted, index, page);
      },
    });
  };
  dev.dmaObservers.push((access) => {
    const inode = deviceWrittenFilePage(access);
    if (inode === null) return;
    watch(inode);
    const page = dev.phys.pfnToPage(access.pfn);
    written.set(page.pfn, {
      generation: page.generation,
      va: access.va,
      mkey: access.mkey.key,
    });
  });
}

/** The file of the page a device write goes to, if it is a page of a file with a disk. */
function deviceWrittenFilePage(access: DmaAccess): Inode | null {
  if (!access.write || !access.dev.phys.pfnValid(access.pfn)) return null;
  const page = access.dev.phys.pfnToPage(access.pfn);
  const inode = page.head.mapping;
  if (page.kind !== "file" || !(inode instanceof Inode) || inode.shmem) return null;
  return inode;
}

function checkEviction(
  k: Kernel,
  written: Map<number, DeviceWrittenPage>,
  inode: Inode,
  index: number,
  page: Page,
): void {
  const record = written.get(page.pfn);
  written.delete(page.pfn);
  if (record === undefined || record.generation !== page.generation) return;
  if (page.head.dirty || sameAsDisk(inode, index, page)) return;
  LOST_DEVICE_WRITE_KINDS.report(
    k,
    "lost_device_write",
    `${inode.name} page ${index} (pfn ${page.pfn}) is dropped clean; the device's write to it never reached the file`,
    {
      file: inode.name,
      index,
      pfn: page.pfn,
      va: record.va,
      mkey: record.mkey,
      objects: [frameId(page.pfn, 1, page.generation)],
    },
  );
}

/** Whether the cached page holds exactly the bytes the backing store has for it. */
function sameAsDisk(inode: Inode, index: number, page: Page): boolean {
  const cached = new Uint8Array(PAGE_SIZE);
  inode.phys.readBytes(page.pfn, 0, cached);
  const disk = inode.backing.get(index) ?? new Uint8Array(PAGE_SIZE);
  return cached.every((b, i) => b === disk[i]);
}
