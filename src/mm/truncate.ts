/**
 * Dropping clean page-cache pages: what drop_caches and POSIX_FADV_DONTNEED do.
 *
 * Models mm/truncate.c's invalidate_mapping_pages() (mapping_try_invalidate()) and
 * mapping_evict_folio(): walk the cached pages of a file by index and remove each one
 * that can go without losing anything the kernel knows of: not dirty, not mapped by any
 * PTE, and held by nobody but the page cache (a GUP pin or a driver's reference keeps
 * it). Its frame is then freed. Dirty, mapped or referenced pages are skipped, not
 * waited for. fs/drop_caches.c runs this on every inode.
 *
 * The kernel trusts PG_dirty here: a page whose newest bytes were stored by a device
 * that nobody reported with set_page_dirty() is dropped as clean, and those bytes are
 * gone (the file still has the old ones). Reclaim (mm/vmscan.c) is not modelled: it
 * would unmap mapped pages first; this path leaves them alone.
 *
 * Simplifications: no folio lock, no PG_writeback (IO is synchronous), no private
 * (buffer head) data to release.
 */
import type { KGen } from "../sim/task.ts";
import type { Inode } from "./file.ts";
import type { Page } from "./page.ts";

/** mapping_evict_folio(): whether a cached page may be dropped now. */
export function mappingEvictable(page: Page): boolean {
  const head = page.head;
  // The page cache holds one reference; any other holder (a pin, a mapping) keeps it.
  return !head.dirty && head.mapcount === 0 && head.pincount === 0 && head.refcount === 1;
}

/** __filemap_remove_folio() + folio_put(): out of the cache, the cache's reference dropped. */
function filemapRemoveFolio(inode: Inode, index: number, page: Page): void {
  for (const o of inode.observers) o.evict?.(inode, index, page);
  inode.pageCache.delete(index);
  page.mapping = null;
  inode.phys.putPage(page, "__filemap_remove_folio");
}

/**
 * invalidate_mapping_pages(inode, start, end): drops the clean, unmapped, unreferenced
 * pages with index in [start, end]. Returns the number dropped.
 */
export function* invalidateMappingPages(inode: Inode, start = 0, end = Infinity): KGen<number> {
  let dropped = 0;
  const indices = [...inode.pageCache.keys()].filter((i) => i >= start && i <= end);
  for (const index of indices.sort((a, b) => a - b)) {
    yield "invalidate_mapping_pages";
    const page = inode.pageCache.get(index);
    if (page === undefined) continue;
    inode.phys.traceDirty(page, "invalidate_mapping_pages", false);
    if (!mappingEvictable(page)) continue;
    filemapRemoveFolio(inode, index, page);
    dropped++;
  }
  return dropped;
}
