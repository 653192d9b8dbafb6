/**
 * Where fault injection will plug in: the named sites a scenario may enable and the
 * plan the explorer hands to every run.
 *
 * Models no kernel file. The sites stand for the kernel's failure points (a kmalloc
 * returning NULL, dma_map_page() failing, a UMR post failing, the OOM reaper's
 * non-blockable invalidation, SIGKILL, device hot-unplug); the layers that own those
 * points (mm, rdma) will draw from the run's model PRNG (`Kernel.rng`) according to the
 * plan. Only the types exist yet: nothing in src/check injects faults.
 */

/** The named fault sites of issue #7. */
export type FaultSite =
  "alloc" | "dma_map" | "umr" | "nonblockable_invalidate" | "process_kill" | "device_removal";

/** Which sites may fail in a run, and how often; drawn from the run's seed. */
export interface FaultPlan {
  readonly sites: readonly FaultSite[];
  /** Chance that one visit of an enabled site fails. Default chosen by the site's owner. */
  readonly probability?: number;
}

/** No faults: the default plan. */
export const NO_FAULTS: FaultPlan = { sites: [] };
