/**
 * Catalog scenario: the NIC writes into a MAP_SHARED file mapping registered as an ODP
 * MR while the process unmaps it and a flusher writes the file back and then drops its
 * clean page-cache pages (drop_caches). The process read page 0 through the mapping and
 * stored to page 1, so only page 1 is dirty by the CPU's doing: what the device stores
 * into page 0 reaches the page cache's knowledge only through the set_page_dirty() of
 * ODP's unmap. The lost-write oracle fires when a page the device wrote leaves the
 * cache clean, its bytes never written back.
 *
 * Models no kernel file: the kind of program (RDMA into an mmap()ed file, then munmap)
 * whose data depends on ib_umem_odp_unmap_dma_pages() dirtying the pages.
 *
 * The read fault maps page 0 writable and clean: the model gives no shared file mapping
 * write-notify (vma_wants_writenotify), as Linux does for shmem-like mappings, so
 * hmm_range_fault() finds the PTE writable and the device write needs no CPU fault.
 * (A file that can write back gets write-notify in Linux; its read fault maps the page
 * read-only and the device's write fault would dirty it.)
 */
import type { KGen } from "../../../sim/task.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { cpuRead, cpuWrite } from "../../../mm/access.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import { Inode, fput, openFile } from "../../../mm/file.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE, vmMmap, vmMunmap } from "../../../mm/mmap.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { filemapWriteAndWait } from "../../../mm/pageWriteback.ts";
import { invalidateMappingPages } from "../../../mm/truncate.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../rdma/core/ibVerbs.ts";
import {
  ibUverbsGetUcontext,
  ibUverbsOpen,
  fileUfile,
} from "../../../rdma/core/uverbs/uverbsMain.ts";
import { ibvAllocPd, ibvRegMr } from "../../../rdma/core/verbs.ts";
import { attachLostDeviceWriteOracle } from "../../oracles/lostDeviceWrite.ts";
import type { Scenario } from "../../scenario.ts";
import { odpHost, setupBegins, setupDone, type OdpBuffer, type OdpHost } from "./odpHost.ts";

const PAGES = 2;
/** The NIC writes every page this many times, one fault latency apart. */
const NIC_ROUNDS = 2;
/** What the file holds on disk before the run. */
const DISK_FILL = 0x11;

export const writebackVsOdp: Scenario = {
  name: "writeback-vs-odp",
  description:
    "writeback-vs-odp v1: 2-page file on disk, MAP_SHARED, CPU reads page 0 and stores " +
    "to page 1, ODP MR; nic: 2 rounds, one fault latency apart, of a write to each page; " +
    "user: sleep one fault latency, munmap; flusher: sleep one fault latency, " +
    "filemap_write_and_wait, invalidate_mapping_pages",
  build(ctx) {
    const host = odpHost(ctx);
    const { k, proc, dev } = host;
    attachLostDeviceWriteOracle(dev);
    const inode = new Inode(host.phys, "data", PAGES * PAGE_SIZE);
    for (let i = 0; i < PAGES; i++) inode.backing.set(i, new Uint8Array(PAGE_SIZE).fill(DISK_FILL));
    proc.spawnThread("setup", () => setup(host, inode));
    return k;
  },
};

/** The device writes 16 bytes of `fill` to each page; false once its QP would fail. */
function* nicWriteEachPage(host: OdpHost, buf: OdpBuffer, fill: number): KGen<boolean> {
  for (let page = 0; page < PAGES; page++) {
    const req = {
      key: buf.mr.lkey,
      va: buf.addr + page * PAGE_SIZE,
      buf: new Uint8Array(16).fill(fill),
      write: true,
    };
    if ((yield* mlx5DeviceDma(host.dev, host.design, req)) < 0) return false;
  }
  return true;
}

/**
 * mmap the whole file (two pages or more) shared, read page 0 through the mapping
 * (faulting it in clean) and store to page 1 (dirtying it), and register the mapping as
 * an ODP MR.
 */
export function* setupOdpFileBuffer(host: OdpHost, inode: Inode): KGen<OdpBuffer> {
  const { k, proc } = host;
  const mm = proc.mm;
  if (mm === null) throw new Error("process has no mm");
  setupBegins(host);
  const len = inode.size;
  const file = openFile(k, inode);
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
  yield* fput(file); // close(fd): the mapping keeps its own reference
  if (addr < 0) throw new Error(`setup mmap failed: ${addr}`);
  if (!(yield* cpuRead(mm, addr, PAGE_SIZE)).ok) throw new Error("setup CPU read faulted");
  const dirty = new Uint8Array(8).fill(0xc1);
  if (!(yield* cpuWrite(mm, addr + PAGE_SIZE, dirty)).ok)
    throw new Error("setup CPU write faulted");
  const filp = yield* ibUverbsOpen(host.udev, mm, proc.pid);
  if (typeof filp === "number") throw new Error(`open device failed: ${filp}`);
  proc.files.push(filp);
  const ctx = ibUverbsGetUcontext(fileUfile(filp));
  if (typeof ctx === "number") throw new Error(`get_context failed: ${ctx}`);
  const pd = ibvAllocPd(ctx);
  if (typeof pd === "number") throw new Error(`alloc_pd failed: ${pd}`);
  const access =
    IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ;
  const mr = yield* ibvRegMr(pd, addr, len, access);
  if (typeof mr === "number") throw new Error(`reg_mr failed: ${mr}`);
  return { addr, pd, mr };
}

function* setup(host: OdpHost, inode: Inode): KGen {
  const { k, proc, dev } = host;
  const buf = yield* setupOdpFileBuffer(host, inode);
  const mm = proc.mm;
  if (mm === null) return;
  setupDone(host);
  k.spawn("nic", { kind: "device", name: dev.name }, () => nicRounds(host, buf));
  proc.spawnThread("user", () => munmapAfterFaultLatency(host, mm, buf));
  k.spawn("flusher", { kind: "host", name: "kthreads" }, () => flusher(host, inode));
}

/** NIC_ROUNDS rounds, one fault latency apart, of a write to each page. */
function* nicRounds(host: OdpHost, buf: OdpBuffer): KGen {
  for (let round = 0; round < NIC_ROUNDS; round++) {
    if (round > 0) yield* host.k.sleep(host.dev.cost.pageFaultNs);
    if (!(yield* nicWriteEachPage(host, buf, 0xd0 + round))) return;
  }
}

function* munmapAfterFaultLatency(host: OdpHost, mm: MmStruct, buf: OdpBuffer): KGen {
  yield* host.k.sleep(host.dev.cost.pageFaultNs);
  yield* vmMunmap(mm, buf.addr, PAGES * PAGE_SIZE);
}

/** After one fault latency: write the file back, then drop its clean pages. */
function* flusher(host: OdpHost, inode: Inode): KGen {
  yield* host.k.sleep(host.dev.cost.pageFaultNs);
  yield* filemapWriteAndWait(inode);
  yield* invalidateMappingPages(inode); // echo 1 > /proc/sys/vm/drop_caches
}
