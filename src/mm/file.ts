/**
 * Files: an inode with a page cache, and open files with file operations.
 *
 * Models the parts of include/linux/fs.h (struct inode, struct address_space with its
 * i_mmap, struct file, struct file_operations), mm/filemap.c (the page cache:
 * filemap_get_folio, filemap_fault's page lookup, read/write through the cache),
 * mm/page-writeback.c (set_page_dirty; the writeback itself is in pageWriteback.ts) and
 * mm/shmem.c (shmem_file_setup for shared anonymous memory) that memory mappings need.
 *
 * A regular file keeps its contents in `backing` (the disk); the page cache holds copies
 * of file pages, and writeback copies dirty cached pages back and clears PG_dirty, so a
 * test can tell whether a device's write "reached the file". Writeback first cleans and
 * write-protects the PTEs mapping the page (page_mkclean, in rmap.ts), under
 * MMU_NOTIFY_PROTECTION_PAGE invalidations that make mirrors drop the page. A shmem
 * inode has no disk: its page cache is the memory.
 *
 * Simplifications: no truncate of mapped pages, no readahead, writeback IO is
 * synchronous and there is no folio lock; a CPU store to a file page sets PG_dirty at
 * once (as if the PTE dirty bit were folded immediately). A device's store sets neither
 * the PTE dirty bit nor PG_dirty: whoever lets a device write a page must dirty it.
 */
import type { Kernel } from "../sim/kernel.ts";
import { KObject } from "../sim/kasan.ts";
import { Kref } from "../sim/sync/kref.ts";
import type { KGen } from "../sim/task.ts";
import { PAGE_SIZE, type Page } from "./page.ts";
import type { PhysMem } from "./physMem.ts";
import { pageVmaMkcleanLocked, rmapWalkFileShared } from "./rmap.ts";
import type { VmAreaStruct } from "./vma.ts";

/** Sees the page-cache events an oracle needs (a narrow hook; the model never reads it). */
export interface PageCacheObserver {
  /** Page `index` was written to the backing store (its contents now are the file's). */
  writeback?(inode: Inode, index: number, page: Page): void;
  /** Clean page `index` is about to leave the page cache (reclaim, drop_caches). */
  evict?(inode: Inode, index: number, page: Page): void;
}

/** struct inode + its address_space. */
export class Inode {
  /** i_size in bytes. */
  size: number;
  /** The page cache: page index → page (the cache holds one reference). */
  readonly pageCache = new Map<number, Page>();
  /** The file's bytes on "disk", page index → bytes (sparse; absent = zeros). */
  readonly backing = new Map<number, Uint8Array>();
  /**
   * address_space.i_mmap: the VMAs mapping this file, linked by vma_link and removed by
   * remove_vma (an interval tree by page offset in Linux; rmap.ts filters by offset).
   */
  readonly iMmap = new Set<VmAreaStruct>();
  /** Oracles watching writeback and eviction of this file's pages. */
  readonly observers: PageCacheObserver[] = [];

  constructor(
    readonly phys: PhysMem,
    readonly name: string,
    size: number,
    /** shmem: no disk behind the cache (shared anonymous memory, tmpfs). */
    readonly shmem = false,
  ) {
    this.size = size;
  }
}

/** struct file_operations: the hooks mm calls. */
export interface FileOperations {
  /**
   * ->mmap(file, vma): a driver may set vm_flags, vm_ops and vm_private_data and map
   * pfns (remapPfnRange); a negative errno fails the mmap. Absent: not mappable
   * (-ENODEV), unless the file has an inode (generic_file_mmap).
   */
  readonly mmap?: (file: File, vma: VmAreaStruct) => KGen<number>;
  /** ->release(): the last reference to the open file was dropped. */
  readonly release?: (file: File) => KGen;
}

export interface FileMode {
  readonly read: boolean;
  readonly write: boolean;
}

/** struct file: an open file (a regular file, or a driver's character device). */
export class File extends KObject {
  /** f_count. */
  readonly fCount: Kref;
  /** private_data: the driver's per-open state. */
  privateData: unknown = null;

  constructor(
    readonly k: Kernel,
    /** The inode with the page cache, or null for a driver file without one. */
    readonly inode: Inode | null,
    readonly fOp: FileOperations,
    readonly fMode: FileMode = { read: true, write: true },
    name = inode?.name ?? "file",
  ) {
    super(k.kasan, `file:${name}`);
    this.fCount = new Kref(k, `f_count(${name})`);
  }
}

/** get_file(). */
export function getFile(file: File): void {
  file.k.kasan.check(file, "get_file");
  file.fCount.get();
}

/** fput(): the last reference runs ->release (and frees a shmem inode's pages). */
export function* fput(file: File): KGen {
  if (!file.k.kasan.check(file, "fput")) return;
  if (!file.fCount.put(noop)) return;
  if (file.fOp.release !== undefined) yield* file.fOp.release(file);
  const inode = file.inode;
  if (inode?.shmem === true) truncateInodePages(inode);
  file.k.kasan.free(file);
}

function noop(): void {
  // the release work follows the put
}

/** Opens a regular file (a new struct file on `inode`). */
export function openFile(k: Kernel, inode: Inode, mode?: FileMode): File {
  return new File(k, inode, {}, mode);
}

/** shmem_file_setup(): the anonymous shmem file behind a MAP_SHARED|MAP_ANONYMOUS map. */
export function shmemFileSetup(k: Kernel, phys: PhysMem, name: string, size: number): File {
  return new File(k, new Inode(phys, name, size, true), {});
}

/** The number of pages the file covers (pages at or past it are beyond EOF). */
export function inodePages(inode: Inode): number {
  return Math.ceil(inode.size / PAGE_SIZE);
}

/**
 * filemap_get_folio(FGP_CREAT) + the read: the cached page at `index`, read in from
 * the backing store if absent. Returns it with a reference for the caller, or null when
 * no frame is free (the caller's -ENOMEM / VM_FAULT_OOM).
 */
export function filemapGetPage(inode: Inode, index: number): Page | null {
  const phys = inode.phys;
  let page = inode.pageCache.get(index);
  if (page === undefined) {
    const fresh = phys.allocPage("file", "__filemap_get_folio");
    if (fresh === null) return null;
    fresh.mapping = inode;
    fresh.index = index;
    const bytes = inode.backing.get(index);
    if (bytes !== undefined) fresh.data = bytes.slice();
    inode.pageCache.set(index, fresh);
    page = fresh;
  }
  phys.getPage(page);
  return page;
}

/** set_page_dirty(): a file page now differs from the disk. */
export function setPageDirty(page: Page): void {
  page.head.dirty = true;
}

/**
 * ->writepage with synchronous IO: copies page `index` to the backing store. The caller
 * has cleared PG_dirty (folio_clear_dirty_for_io) in the same step.
 */
export function writePage(inode: Inode, index: number, page: Page): void {
  const bytes = new Uint8Array(PAGE_SIZE);
  inode.phys.readBytes(page.pfn, 0, bytes);
  inode.backing.set(index, bytes);
  for (const o of inode.observers) o.writeback?.(inode, index, page);
}

/**
 * Writeback for code that cannot sleep (tests, setup): every dirty cached page has its
 * PTEs cleaned (page_mkclean without the notifier calls) and is written. Returns the
 * number of pages written. A page mapped in an mm with notifier subscribers needs the
 * invalidations: use filemapWriteAndWait() (pageWriteback.ts) from a task instead.
 */
export function writebackInode(inode: Inode): number {
  if (inode.shmem) return 0;
  let written = 0;
  for (const index of [...inode.pageCache.keys()].sort((a, b) => a - b)) {
    const page = inode.pageCache.get(index);
    // write_cache_pages() visits only the pages tagged dirty.
    if (page === undefined || !page.dirty) continue;
    const hits = rmapWalkFileShared(inode, index);
    if (page.mapcount > 0 && hits.some((h) => h.vma.vmMm.notifierSubscriptions !== null)) {
      throw new Error(`writebackInode: ${inode.name} page ${index} has mirrors to notify`);
    }
    for (const hit of hits) pageVmaMkcleanLocked(hit, page);
    page.dirty = false;
    writePage(inode, index, page);
    written++;
  }
  return written;
}

/** Reads the file's bytes on "disk" (not the page cache): what writeback produced. */
export function readBacking(inode: Inode, pos: number, len: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(len, inode.size - pos)));
  copyPages(out, pos, (index) => inode.backing.get(index) ?? null);
  return out;
}

/** kernel_read(): the file's contents as a reader sees them (page cache first). */
export function kernelRead(inode: Inode, pos: number, len: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(len, inode.size - pos)));
  copyPages(out, pos, (index) => {
    const page = inode.pageCache.get(index);
    if (page === undefined) return inode.backing.get(index) ?? null;
    const bytes = new Uint8Array(PAGE_SIZE);
    inode.phys.readBytes(page.pfn, 0, bytes);
    return bytes;
  });
  return out;
}

/**
 * kernel_write(): writes through the page cache (dirtying it) and extends i_size.
 * Returns the bytes written or -ENOMEM-like null when no frame is free.
 */
export function kernelWrite(inode: Inode, pos: number, data: Uint8Array): number | null {
  let done = 0;
  while (done < data.length) {
    const at = pos + done;
    const index = Math.floor(at / PAGE_SIZE);
    const off = at - index * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, data.length - done);
    const page = filemapGetPage(inode, index);
    if (page === null) return null;
    inode.phys.writeBytes(page.pfn, off, data.subarray(done, done + n));
    setPageDirty(page);
    inode.phys.putPage(page);
    done += n;
  }
  inode.size = Math.max(inode.size, pos + data.length);
  return done;
}

/** truncate_inode_pages(): drops the page cache (mapped pages keep their own refs). */
export function truncateInodePages(inode: Inode): void {
  for (const page of inode.pageCache.values()) {
    page.mapping = null;
    inode.phys.putPage(page, "truncate_inode_pages");
  }
  inode.pageCache.clear();
}

function copyPages(
  out: Uint8Array,
  pos: number,
  pageBytes: (index: number) => Uint8Array | null,
): void {
  let done = 0;
  while (done < out.length) {
    const at = pos + done;
    const index = Math.floor(at / PAGE_SIZE);
    const off = at - index * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, out.length - done);
    const bytes = pageBytes(index);
    if (bytes !== null) out.set(bytes.subarray(off, off + n), done);
    done += n;
  }
}
