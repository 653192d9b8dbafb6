/**
 * The uverbs mmap entries of the bug catalog (17 and 18), for catalog.ts to list.
 *
 * Models no kernel file: each entry cites the kernel change whose absence it
 * re-introduces; the defect itself is a delta in src/rdma/core/uverbs.
 */
import type { CatalogEntry } from "../catalog.ts";
import { uverbsForkUnplug, uverbsMmapUnplug } from "./hotUnplugScenarios.ts";

export { uverbsForkUnplug, uverbsMmapUnplug } from "./hotUnplugScenarios.ts";

export const UVERBS_CATALOG: readonly CatalogEntry[] = [
  {
    id: "uverbs-fork-untracked",
    number: 17,
    design: "seed",
    title: "vm_ops->open does not track a forked (or split) copy of a device mapping",
    fix: "RDMA/ucontext: Add a core API for mmaping driver IO memory (seed 004, 5f9794dc94f5)",
    race:
      "Before seed 004 the drivers' vma_open (mlx5_ib_vma_open) only cut a copied VMA " +
      "loose from the original's private data. fork() copies the doorbell's pfn PTEs " +
      "into the child, but nothing records the child's VMA, so hot unplug zaps the " +
      "parent's mapping and leaves the child's: the child keeps ringing a doorbell " +
      "that is about to vanish, and the BAR is released while the child still maps it.",
    scenario: uverbsForkUnplug,
    expected: "untracked_io_vma",
  },
  {
    id: "uverbs-umap-before-mmap-lock",
    number: 18,
    design: "seed",
    title: "disassociation takes umap_lock before mmap_lock (ABBA with the mmap path)",
    fix: "RDMA/ucontext: Add a core API for mmaping driver IO memory (seed 004, 5f9794dc94f5)",
    race:
      "mmap, munmap, fork and exit run the uverbs vm_ops with mmap_lock held, and those " +
      "take umap_lock. Walking the umaps list under umap_lock and taking each VMA's " +
      "mmap_lock there is the reverse order: a disassociation and an munmap of the same " +
      "mm can deadlock. Seed 004 drops umap_lock, takes one mm's mmap_lock, retakes " +
      "umap_lock and cleans that mm only, until the list is empty.",
    scenario: uverbsMmapUnplug,
    expected: "lock_order_inversion",
  },
];
