/**
 * The catalog of real bugs this subsystem has had, each re-introduced as a named
 * defect at the place in the model where the buggy kernel differed.
 *
 * Models no kernel file: each entry cites the kernel fix it undoes. An entry counts as
 * found only when the explorer, given the scenario, the design and the defect, finds
 * the expected violation on its own; the same scenario without the defect must stay
 * clean.
 */
import type { Scenario } from "../scenario.ts";
import { dmirrorCloseVsMunmap } from "./scenarios/dmirrorCloseVsMunmap.ts";
import { faultVsDereg } from "./scenarios/faultVsDereg.ts";
import { faultVsExit } from "./scenarios/faultVsExit.ts";
import { faultVsInvalidate } from "./scenarios/faultVsInvalidate.ts";
import { hugetlbVmaReplaced } from "./scenarios/hugetlbVmaReplaced.ts";
import { ODP_UNMAP_TAKES_MUTEX } from "../../rdma/core/odp/classicDesign.ts";
import { implicitChildDoubleInvalidate } from "./scenarios/implicitChildDoubleInvalidate.ts";
import { implicitChildReap } from "./scenarios/implicitChildReap.ts";
import { implicitChildVsExit } from "./scenarios/implicitChildVsExit.ts";
import { implicitKsmZapVsFault } from "./scenarios/implicitKsmZapVsFault.ts";
import { implicitReleaseVsExit } from "./scenarios/implicitReleaseVsExit.ts";
import { oomVsHmmMirror } from "./scenarios/oomVsHmmMirror.ts";
import { qpDestroyVsWqeFault } from "./scenarios/qpDestroyVsWqeFault.ts";
import { wqeFaultVsAsyncEvent } from "./scenarios/wqeFaultVsAsyncEvent.ts";
import { WQE_PFAULT_NO_QP_REF } from "../../rdma/mlx5/wqePfault.ts";
import { QP_TABLE_LOCK_IRQ_UNSAFE } from "../../rdma/mlx5/qp/qpTable.ts";
import { HMM_START_ERROR_FLOW } from "../../mm/notifier/hmmMirror.ts";
import { RELEASE_MARKS_DYING } from "../../rdma/core/odp/classicPerMm.ts";
import { IMPLICIT_KSM_UPDATE_UNLOCKED } from "../../rdma/mlx5/odp/perMmImplicit.ts";
import { oomVsOdp } from "./scenarios/oomVsOdp.ts";
import { oomVsOdpUserptr } from "./scenarios/oomVsOdpUserptr.ts";
import { prefetchVsDereg } from "./scenarios/prefetchVsDereg.ts";
import { writebackVsOdp } from "./scenarios/writebackVsOdp.ts";
import {
  ODP_LIVE_BEFORE_SETUP,
  PREFETCH_COUNT_BEFORE_SRCU_SYNC,
} from "../../rdma/mlx5/odp/srcuEraMr.ts";
import { prefetchVsReg } from "./scenarios/prefetchVsReg.ts";
import { UVERBS_CATALOG } from "./uverbs/index.ts";

export interface CatalogEntry {
  /** The defect id passed to the model (k.hasDefect). */
  readonly id: string;
  /** The number in the project's list of historical bugs (issue #7). */
  readonly number: number;
  readonly design: string;
  readonly title: string;
  /** The kernel commit subject that fixed it (or the seed that introduced the fix). */
  readonly fix: string;
  /** One paragraph on the race. */
  readonly race: string;
  readonly scenario: Scenario;
  /** The violation kind the oracles are expected to report. */
  readonly expected: string;
  /**
   * Other kinds the same race shows as, when which one comes first depends on the
   * interleaving (a run stops at its first violation). Absent for most entries.
   */
  readonly alsoShowsAs?: readonly string[];
  /**
   * Other catalog defects of the kernel this bug lived in, whose later fixes would hide
   * it: both the run with the defect and the fixed run switch them on, so the entry is
   * explored in its own era. Absent when the model's fixed kernel is era enough.
   */
  readonly era?: readonly string[];
}

const ODP_CATALOG: readonly CatalogEntry[] = [
  {
    id: "classic-no-retry-check",
    number: 1,
    design: "classic",
    title: "page fault writes the MTT without the notifiers_seq / notifiers_count check",
    fix: "IB/mlx5: Implement on demand paging by adding support for MMU notifiers (seed 001)",
    race:
      "pagefault_mr maps pages with ib_umem_odp_map_dma_pages, drops umem_mutex, and " +
      "retakes it to write the MTT. An invalidation that starts in that window zaps the " +
      "(still empty) MTT entries, then waits for umem_mutex to unmap the pages. Without " +
      "the retry check the fault writes the doomed page into the MTT first; the " +
      "invalidation then unmaps and the CPU frees the page, while the device still " +
      "translates to it. Once the zap and the unmap share one hold of umem_mutex (#14's " +
      "fix), the MTT write fills in only what is still mapped and the check is no longer " +
      "the last line, so the entry runs in the era of split holds. The oracle sees the " +
      "frame freed under the MTT entry; a device access through an entry written after " +
      "the free is a use-after-free instead.",
    scenario: faultVsInvalidate,
    expected: "device_translation_outlives_frame",
    alsoShowsAs: ["device_use_after_free"],
    era: [ODP_UNMAP_TAKES_MUTEX],
  },
  {
    id: "classic-no-live-check",
    number: 2,
    design: "classic",
    title: "fault handler uses an MR whose destruction has begun (no mr->live check)",
    fix: "IB/mlx5: Implement on demand paging by adding support for MMU notifiers (seed 001)",
    race:
      "dereg_mr clears mr->live and waits for mr_srcu, so that faults raised later fail " +
      "the key lookup. Without the live test a fault that arrives after the grace period " +
      "finds the MR by key and works on its umem while dereg releases it.",
    scenario: faultVsDereg,
    expected: "use_after_free",
  },
  {
    id: "classic-no-srcu-sync",
    number: 3,
    design: "classic",
    title: "no synchronize_srcu before the MR dies: a running fault handler uses a freed MR",
    fix:
      "IB/mlx5: Page faults handling infrastructure (6aec21f6a832, v3.19): dereg_mr's " +
      "synchronize_srcu after live = 0 is already context in seed 001, which added only " +
      "the one in destroy_mkey",
    race:
      "A fault handler looks the MR up under mr_srcu before dereg clears mr->live. " +
      "Without synchronize_srcu, dereg goes on to release the umem and free the MR while " +
      "the handler is still mapping pages into them.",
    scenario: faultVsDereg,
    expected: "use_after_free",
  },
  {
    id: "classic-mr-before-umem",
    number: 4,
    design: "classic",
    title: "MR freed before its umem: an invalidation in flight uses the freed MR",
    fix: "IB/mlx5: Implement on demand paging by adding support for MMU notifiers (seed 001: the error-path comment)",
    race:
      "The umem stays in the per-mm notifier tree until ib_umem_release. Freeing the MR " +
      "first leaves a window in which an invalidation of the MR's range finds the umem, " +
      "reads umem->private and calls mlx5_ib_invalidate_range on the freed MR.",
    scenario: faultVsDereg,
    expected: "use_after_free",
  },
  {
    id: "classic-missed-unlock",
    number: 5,
    design: "classic",
    title: "non-blockable invalidate_range_start returns -EAGAIN still holding umem_rwsem",
    fix: "RDMA/odp: Fix missed unlock in non-blocking invalidate_start",
    race:
      "The per-mm notifier takes umem_rwsem for read in invalidate_range_start and drops " +
      "it in invalidate_range_end. A non-blockable start (the OOM reaper) that finds a " +
      "umem in the range refuses with -EAGAIN, and no end follows a refused start, so " +
      "the read lock is never dropped: the next down_write (deregistering an MR) waits " +
      "for ever.",
    scenario: oomVsOdp,
    expected: "deadlock",
  },
  {
    id: "mmu-notifier-unpaired-end",
    number: 6,
    design: "classic",
    title: "one notifier refuses a non-blockable start: the others that started get no end",
    fix: "mm/mmu_notifiers: ensure range_end() is paired with range_start()",
    race:
      "The OOM reaper's invalidations are non-blockable. The notifier core calls every " +
      "subscriber's start; when one refuses (-EAGAIN) it returns the error and the reaper " +
      "calls no end, so the subscribers that did start never get theirs. Here an i915 " +
      "userptr refuses the private mapping it covers, while the RDMA per-mm notifier, " +
      "whose ODP MR lies elsewhere, starts and keeps umem_rwsem read-held for an end that " +
      "never comes: deregistering the MR then waits in down_write for ever. The fix (v5.12) " +
      "ends every subscriber after a refusal; the scenario runs it backported onto the " +
      "classic design's v5.3, where the per-mm notifier itself never refuses.",
    scenario: oomVsOdpUserptr,
    expected: "deadlock",
  },
  {
    id: "hmm-fault-no-mmget",
    number: 7,
    design: "hmm-mirror",
    title: "hmm_range_fault walks the VMAs of an mm being torn down, without mmget_not_zero",
    fix: 'review of "RDMA/odp: convert to use HMM for ODP" (seed 002): hold mmget_not_zero() across hmm_range_fault(), as ib_umem_odp_map_dma_and_lock() later does',
    race:
      "The posted ib_umem_odp_map_dma_pages checks hmm_mirror_mm_is_alive (an unlocked " +
      "read of hmm->dead) and then walks the mm under mmap_sem. A process exiting in " +
      "between drops the last mm_users and exit_mmap runs the release and tears the " +
      "VMAs down: the fault handler walks an address space that is being freed.",
    scenario: faultVsExit,
    expected: "hmm_walk_without_mmget",
  },
  {
    id: "hmm-notifier-uses-freed-hmm",
    number: 8,
    design: "hmm-mirror",
    title: "struct hmm freed while an SRCU-protected notifier callback still runs",
    fix: "mm/hmm: Fix use after free with struct hmm in the mmu notifiers",
    race:
      "The hmm's notifier callbacks found their hmm through mm->hmm, and hmm_free " +
      "unlinked the notifier with mmu_notifier_unregister_no_release and freed the hmm " +
      "at once. A callback already inside the SRCU-protected notifier list then touches " +
      "the freed hmm, or finds mm->hmm NULL and hits VM_BUG_ON. The fix takes the hmm " +
      "with container_of and kref_get_unless_zero and frees it after a grace period.",
    scenario: faultVsDereg,
    expected: "use_after_free",
    alsoShowsAs: ["bug_on"],
  },
  {
    id: "interval-remove-lockless-seq",
    number: 9,
    design: "interval",
    title:
      "mmu_interval_notifier_remove returns while the invalidation's end still walks the deferred list",
    fix: "mm/mmu_notifier.c: fix race in mmu_interval_notifier_remove()",
    race:
      "A removal during an invalidation is deferred: remove waits until invalidate_seq " +
      "moves on. mn_itree_inv_end bumps the seq and then, still under the lock, applies " +
      "the deferred list, which holds the notifier being removed. Reading the seq " +
      "without the lock lets remove return after the bump but before the walk, so its " +
      "caller frees the notifier that inv_end is about to touch.",
    scenario: dmirrorCloseVsMunmap,
    expected: "use_after_free",
  },
  {
    id: "implicit-child-no-mmget",
    number: 10,
    design: "interval",
    title: "implicit child created without a live mm, racing exit_mmap",
    fix: "RDMA/odp: Ensure the mm is still alive before creating an implicit child",
    race:
      "A device fault on a new region of an implicit MR creates a child umem from the " +
      "page-fault worker, where the only hold on the mm is the root's mmgrab. Without " +
      "mmget_not_zero the child inserts its interval notifier while the exiting process " +
      "has already dropped the last mm_users and exit_mmap is tearing the address " +
      "space down.",
    scenario: implicitChildVsExit,
    expected: "warn_on",
  },
  {
    id: "implicit-child-double-destroy",
    number: 11,
    design: "interval",
    title: "an empty implicit child queued for destruction twice (CVE-2025-21714)",
    fix: "RDMA/mlx5: Fix implicit ODP use after free",
    race:
      "An invalidation that leaves a child without pages takes it out of the parent's " +
      "table and queues its destruction; the work first waits for the child's users. A " +
      "fault that looked the child up before that still maps a page into it, and a " +
      "second invalidation empties it again. Erasing the slot unconditionally lets that " +
      "invalidation queue the same work again while the first run is going on; the " +
      "second run then touches the child the first one freed.",
    scenario: implicitChildReap,
    expected: "use_after_free",
  },
  {
    id: "implicit-parent-ref-leak",
    number: 12,
    design: "interval",
    title: "a losing child reap leaks the parent's usecount: deregistration hangs",
    fix: "RDMA/mlx5: Fix implicit ODP hang on parent deregistration",
    race:
      "destroy_unused_implicit_child_mr takes a count on the parent before trying to " +
      "take the child out of the table. When another reap already took it (the race of " +
      "CVE-2025-21714, now refused by compare-and-swap), the early return kept that " +
      "count, so the parent's deregistration waits forever for its usecount to drop.",
    scenario: implicitChildReap,
    expected: "deadlock",
  },
  {
    id: "unmap-no-dirty",
    number: 13,
    design: "interval",
    title: "ODP unmaps a page its device could write without set_page_dirty: the write is lost",
    fix:
      "none: a seeded delta. ib_umem_odp_unmap_dma_pages() has dirtied every write-allowed " +
      "page since ODP was merged (IB/core: Add support for on demand paging regions, " +
      "8ada2c1c0c1d, v3.19; invalidation-time form from IB/core: Implement support for MMU " +
      "notifiers regarding on demand paging regions), kept by seed 002's " +
      "hmm_range_dma_unmap(..., dirty = true)",
    race:
      "A device store sets no PTE dirty bit, and hmm_range_fault() maps a page the CPU " +
      "already maps writable without a write fault, so nothing dirties it: only ODP's unmap " +
      "tells the page cache. Here the process read a MAP_SHARED file (its PTEs writable and " +
      "clean), the NIC wrote both pages, and munmap's invalidation unmaps them. Without " +
      "set_page_dirty the written page stays clean; writeback skips it and drop_caches " +
      "(invalidate_mapping_pages) frees it, and the file keeps its old bytes. The page the " +
      "CPU had stored to is safe either way: writeback's folio_mkclean() invalidates it " +
      "first, and the NIC's next write must fault and dirty it again.",
    scenario: writebackVsOdp,
    expected: "lost_device_write",
  },
  {
    id: ODP_UNMAP_TAKES_MUTEX,
    number: 14,
    design: "classic",
    title: "device zap and DMA unmap under separate holds of umem_mutex",
    fix: "RDMA/odp: Lift umem_mutex out of ib_umem_odp_unmap_dma_pages() (v5.4-rc)",
    race:
      "In v5.3 mlx5_ib_invalidate_range zapped the MTT under umem_mutex, let it go, had " +
      "ib_umem_odp_unmap_dma_pages take it again, and then tested an implicit child's " +
      "npages == 0 && !dying with no lock at all. Two invalidations of one child (two " +
      "threads discarding the same page) both see the emptied child not dying, both set " +
      "dying, both count it in the parent's num_leaf_free and both schedule its one " +
      "work: the work runs once, num_leaf_free never returns to zero, and deregistering " +
      "the parent waits for ever. The fix holds the mutex across the zap, the unmap and " +
      "the test. When the work has already run when the second invalidation schedules it, " +
      "it runs again on the freed child (the fix's 'BOOM'): a use-after-free.",
    scenario: implicitChildDoubleInvalidate,
    expected: "deadlock",
    alsoShowsAs: ["use_after_free"],
  },
  {
    id: "hugetlb-checked-at-registration-only",
    number: 15,
    design: "interval",
    title:
      "IB_ACCESS_HUGETLB: the VMA checked at registration, at fault time only the pages up to the access",
    fix:
      "IB/core: Fix ODP with IB_ACCESS_HUGETLB handling (9ff1b6466a29, v5.6: registration " +
      "stops looking at the VMA); IB/core: Improve ODP to use hmm_range_fault() " +
      "(36f30e486dce, v5.10: the fault path checks the CPU mapping's order over the whole " +
      "huge page, -EINVAL)",
    race:
      "v5.5 ib_umem_odp_get() took page_shift from the hugetlb VMA it found at " +
      "registration; the fault path then get_user_pages'd 4 KiB pages from the huge page's " +
      "start to the end of the access, checked only that those were physically " +
      "contiguous, and mapped the first one as a 2 MiB umem page. Here the process " +
      "replaces the hugetlb VMA with ordinary memory (mmap MAP_FIXED) after registering; " +
      "a device fault at the start of the 2 MiB then fetches one small page, passes, and " +
      "the MTT gets a 2 MiB translation from that frame on, so the device's next write " +
      "lands 256 KiB further in a frame the process does not own. 9ff1b6466a29 only " +
      "dropped the registration check (a range need not be mapped yet), which left the " +
      "hole open without any race until 36f30e486dce refused a small page behind a huge " +
      "umem page at fault time.",
    scenario: hugetlbVmaReplaced,
    expected: "device_use_after_free",
  },
  {
    id: PREFETCH_COUNT_BEFORE_SRCU_SYNC,
    number: 16,
    design: "classic",
    title:
      "dereg_mr reads the prefetch count before synchronize_srcu: prefetch work uses a dying MR",
    fix: "RDMA/mlx5: Order num_pending_prefetch properly with synchronize_srcu (aa116b810ac9, v5.4-rc2)",
    race:
      "An asynchronous ibv_advise_mr looks the MR up under mr_srcu, checks mr->live and " +
      "counts itself in num_pending_prefetch before queueing work that holds the MR. From " +
      "v5.1 dereg_mr cleared live, read the count, flushed the prefetch work only if it " +
      "was non-zero, WARN_ON'd a count still held, and only then synchronize_srcu()d. An " +
      "advise that saw live = 1 counts after dereg's first read: the WARN_ON's second " +
      "read fires (the race diagram of the fix), and dereg frees an MR the queued work " +
      "then touches (use-after-free, when both reads came before the count). The fix " +
      "reads the count after the grace period, when every advise that saw live = 1 has " +
      "counted. The model's work holds MR pointers as from fb985e278a30 (v5.5); the v5.3 " +
      "work looked the keys up again, which changes what it touches, not the race.",
    scenario: prefetchVsDereg,
    expected: "warn_on",
    alsoShowsAs: ["use_after_free"],
  },
  {
    id: IMPLICIT_KSM_UPDATE_UNLOCKED,
    number: 20,
    design: "classic",
    title: "a child's KSM zap races the insertion of a new child for the same slot",
    fix: "RDMA/mlx5: Fix a race with mlx5_ib_update_xlt on an implicit MR (v5.4-rc2)",
    race:
      "mr_leaf_free_action, the work that frees an implicit child left without pages, " +
      "released the child's umem and then rewrote its KSM slot of the parent from the " +
      "umem tree with neither mr_srcu nor the parent's umem_mutex. A device fault on the " +
      "same slot finds no live child and makes a new one under the parent's umem_mutex, " +
      "then points the slot at it with its own UMR. The work read the tree before the new " +
      "child joined it (ZAP) and posts its UMR after the fault's (VALID): the slot is " +
      "empty while its child lives, the fault path finds the child and never rewrites " +
      "the slot, and the device faults on the page for ever. Releasing the child first " +
      "also leaves the slot pointing at its MTT while the release unmaps pages a " +
      "racing fault mapped there: the device can reach a freed page. The fix updates the slot " +
      "under both locks before releasing the child, so the two UMRs of one slot are " +
      "serialized with the tree contents they were built from.",
    scenario: implicitKsmZapVsFault,
    expected: "fault_livelock",
    // The stale slot reaching the freed page (caught at the free once the MTT is a
    // device page table): what examples/catalog's file shows first.
    alsoShowsAs: ["device_use_after_free", "device_translation_outlives_frame"],
  },
  {
    id: RELEASE_MARKS_DYING,
    number: 21,
    design: "classic",
    title: "the mm's release marks implicit children dying: deregistration never frees them",
    fix: "IB/mlx5: Fix implicit MR release flow (f591822c3cf3, v5.3-rc5)",
    race:
      "When a process exits with an implicit MR still registered, exit_mmap runs the " +
      "per-mm notifier's release, whose trampoline set every umem dying before the " +
      "driver zapped and unmapped it. An implicit child emptied by that invalidation is " +
      "queued for freeing only if it is not dying, and closing the uverbs file then " +
      "destroys the implicit MR, whose mr_leaf_free skips dying children too: the " +
      "children's umems and MRs leak, and with them the per_mm (the WARN_ON in " +
      "mlx5_ib_dealloc_ucontext). The fix stops the release from setting dying, and the " +
      "fault path no longer needs it: a fault after the release fails on the dead mm.",
    scenario: implicitReleaseVsExit,
    expected: "leak_at_teardown",
  },
  {
    id: HMM_START_ERROR_FLOW,
    number: 22,
    design: "hmm-mirror",
    title:
      "hmm_invalidate_range_start swallows a mirror's -EAGAIN and sleeps on a mutex in the reaper's range",
    fix: "mm/hmm: Fix error flows in hmm_invalidate_range_start (v5.3)",
    race:
      "The OOM reaper's invalidations are non-blockable. The hmm of seed 002's v5.2 base " +
      "counted the range in hmm->notifiers under the mutex hmm->lock, then asked each " +
      "mirror to drop it; the ODP mirror refuses a range over a umem with -EAGAIN, but " +
      "the posted loop stored that in a shadowing inner `ret`, so the start returned 0: " +
      "the reaper zaps and frees the pages the device still translates, and its range " +
      "end then sleeps on hmm->lock in a context that must not sleep. A failed " +
      "mirrors_sem trylock also left notifiers raised for good. The fix passes -EAGAIN " +
      "on, undoes the count on every failure, and makes the lock a spinlock. The oracle " +
      "sees the first half as the reaper frees a page the MTT still maps, the second " +
      "when the range end sleeps first.",
    scenario: oomVsHmmMirror,
    expected: "device_translation_outlives_frame",
    alsoShowsAs: ["sleep_in_atomic"],
  },
  {
    id: WQE_PFAULT_NO_QP_REF,
    number: 23,
    design: "classic",
    title: "the WQE page-fault handler uses a QP it holds no reference on",
    fix: "IB/mlx5: Lock QP during page fault handling (032080ab43ac, v4.20)",
    race:
      "A WQE page fault names only the QP number; the page-fault worker looked the QP " +
      "up with __mlx5_qp_lookup(), which takes no reference, and then read the WQE from " +
      "the QP's queue. A process destroying the QP meanwhile takes it out of the core's " +
      "table, waits for the references it knows of (none from the worker) and frees it, " +
      "so the worker reads a freed QP. The fix holds the resource (mlx5_core_res_hold) " +
      "for the whole handler, so destroy_resource_common waits for the worker.",
    scenario: qpDestroyVsWqeFault,
    expected: "use_after_free",
  },
  {
    id: QP_TABLE_LOCK_IRQ_UNSAFE,
    number: 24,
    design: "classic",
    title:
      "the page-fault worker takes qp_table->lock with IRQs on; the async event IRQ takes it too",
    fix:
      "net/mlx5: Take lock with IRQs disabled to avoid deadlock (33814e5d127e, v5.0), the " +
      "follow-up of IB/mlx5: Lock QP during page fault handling",
    race:
      "The hold 032080ab43ac added to the page-fault worker went through mlx5_get_rsc(), " +
      "which took the QP table's spinlock with a plain spin_lock(). The same lock is taken " +
      "in hard IRQ context by mlx5_eq_int() -> mlx5_rsc_event() for every affiliated " +
      "event of a QP (here the WQ_ACCESS_ERROR of a responder that met a write its MR " +
      "does not allow). An interrupt arriving on the CPU where the worker holds the lock " +
      "spins on it for ever; lockdep reports the lock as used both in hard IRQ context " +
      "and with hard IRQs enabled. The fix takes it with spin_lock_irqsave().",
    scenario: wqeFaultVsAsyncEvent,
    expected: "lock_order_inversion",
  },
  {
    id: ODP_LIVE_BEFORE_SETUP,
    number: 25,
    design: "classic",
    title: "mr->live set before the MR is set up, as a plain store: an advise's count is wiped out",
    fix: "RDMA/mlx5: Put live in the correct place for ODP MRs (v5.4-rc2)",
    race:
      "An ODP MR's mkey is in the device's table before mlx5_ib_reg_user_mr has finished: " +
      "live is what tells page faults and ibv_advise_mr that the MR may be used. v5.3 set " +
      "live = 1 and then reset num_pending_prefetch with atomic_set(0), both plain stores " +
      "(umem->private before them, between seed 001's smp_wmb()s). An asynchronous advise " +
      "on the new key (keys are guessable) that sees live counts itself, and the reset " +
      "then wipes the count out, in program order or because the CPU made live visible " +
      "first: dereg_mr finds no prefetch to wait for and frees the MR the queued work then " +
      "touches (or the work's decrement leaves -1 and dereg's WARN_ON fires). The fix sets " +
      "everything else first and publishes live with smp_store_release(); the model runs " +
      "the registration's stores through a store buffer (storeBuffer.ts), so only the " +
      "barrier orders them.",
    scenario: prefetchVsReg,
    expected: "use_after_free",
    alsoShowsAs: ["warn_on"],
  },
];

/** Every entry, by number. */
export const CATALOG: readonly CatalogEntry[] = [...ODP_CATALOG, ...UVERBS_CATALOG].sort(
  (a, b) => a.number - b.number,
);

/** The entry with this id, or undefined. */
export function catalogEntry(id: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.id === id);
}

/** The catalog scenario named `name`, or undefined (worker threads load through this). */
export function scenarioByName(name: string): Scenario | undefined {
  return CATALOG.find((e) => e.scenario.name === name)?.scenario;
}

/** Every scenario the catalog uses, by name. */
export function catalogScenarios(): Map<string, Scenario> {
  return new Map(CATALOG.map((e) => [e.scenario.name, e.scenario] as const));
}

/** Is a violation of `kind` this entry's bug showing (its expected kind or another symptom)? */
export function showsEntry(entry: CatalogEntry, kind: string | undefined): boolean {
  return kind === entry.expected || (entry.alsoShowsAs ?? []).some((k) => k === kind);
}

/** The defects a run of `entry` switches on: its era's, then its own unless `fixed`. */
export function entryDefects(entry: CatalogEntry, fixed = false): string[] {
  return fixed ? [...(entry.era ?? [])] : [...(entry.era ?? []), entry.id];
}

/**
 * `defects` with the era of each catalog defect among them added in front (see
 * CatalogEntry.era), duplicates dropped: what a user's `--defect ID` means.
 */
export function withEra(defects: readonly string[]): string[] {
  const out: string[] = [];
  for (const id of defects) {
    for (const d of catalogEntry(id)?.era ?? []) if (!out.includes(d)) out.push(d);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}
