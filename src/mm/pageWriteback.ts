/**
 * Writeback: writing a file's dirty page-cache pages to its backing store.
 *
 * Models mm/page-writeback.c's write_cache_pages() (visit the pages tagged dirty, by
 * index) and folio_clear_dirty_for_io(): first folio_mkclean() write-protects and cleans
 * every PTE mapping the page — under MMU_NOTIFY_PROTECTION_PAGE invalidations, during
 * which a mirror such as ODP unmaps the page and set_page_dirty()s it if its device may
 * have written it — and re-dirties the page if any PTE was dirty or writable; then
 * PG_dirty is tested and cleared and the page is written. That order is why a device
 * write made before the invalidation reaches the disk, and why a later device write must
 * fault (and so dirty the page) again. filemap_write_and_wait() (mm/filemap.c) is the
 * entry point: with synchronous IO there is nothing to wait for afterwards.
 *
 * Simplifications: IO is synchronous (the copy happens in the step that clears
 * PG_dirty), no folio lock or PG_writeback, no dirty accounting or throttling.
 */
import type { KGen } from "../sim/task.ts";
import { setPageDirty, writePage, type Inode } from "./file.ts";
import type { Page } from "./page.ts";
import { folioMkclean } from "./rmap.ts";

/**
 * folio_clear_dirty_for_io(): cleans the PTEs of page `index`, folds what they say
 * into PG_dirty, then tests and clears PG_dirty. True if the page must be written.
 */
export function* folioClearDirtyForIo(inode: Inode, index: number, page: Page): KGen<boolean> {
  if (!inode.shmem && (yield* folioMkclean(inode, index, page)) > 0) setPageDirty(page);
  const wasDirty = page.head.dirty;
  page.head.dirty = false;
  inode.phys.traceDirty(page, "folio_clear_dirty_for_io", true);
  return wasDirty;
}

/**
 * write_cache_pages() over the whole file: every page dirty when visited is cleaned for
 * IO and written. Returns the number of pages written. shmem has nowhere to write.
 */
export function* writeCachePages(inode: Inode): KGen<number> {
  if (inode.shmem) return 0;
  let written = 0;
  const dirty = [...inode.pageCache].filter(([, page]) => page.dirty).map(([index]) => index);
  for (const index of dirty.sort((a, b) => a - b)) {
    yield "write_cache_pages";
    // The page may have been written or dropped while earlier pages were written.
    const page = inode.pageCache.get(index);
    if (page === undefined || !page.dirty) continue;
    if (!(yield* folioClearDirtyForIo(inode, index, page))) continue;
    // A page truncated while its PTEs were cleaned is not written (it left the cache).
    if (inode.pageCache.get(index) !== page) continue;
    writePage(inode, index, page);
    written++;
  }
  return written;
}

/** filemap_write_and_wait(): writes every dirty page of `inode`; the number written. */
export function* filemapWriteAndWait(inode: Inode): KGen<number> {
  return yield* writeCachePages(inode);
}
