/**
 * Fault injection: the named sites a scenario may enable and the plan the explorer
 * hands to every run.
 *
 * Models no kernel file. The sites stand for the kernel's failure points (a kmalloc
 * returning NULL, dma_map_page() failing, a UMR post failing, the OOM reaper's
 * non-blockable invalidation, SIGKILL, device hot-unplug). The layers that own those
 * points draw from the run's model PRNG (`Kernel.rng`) according to the plan:
 * `faultKernelOptions(plan)` is what a scenario hands to its Kernel, and model code asks
 * `k.shouldFail(site)` at each failure point. Sites acted on: alloc (page allocation,
 * so ENOMEM), dma_map (the classic design's DMA mapping of a page, and ib_umem_get's
 * mapping of a pinned umem), umr (a UMR post),
 * nonblockable_invalidate, process_kill and device_removal (tasks faultTasks.ts spawns
 * in catalog ODP hosts and scenario-file worlds: an OOM reaper pass and SIGKILL per
 * process, hot unplug per mlx5 device).
 *
 * Every fault a run comes to is numbered in order; a plan may suppress some by number,
 * which is how shrinking removes the faults a failure does not need.
 */

/** The named fault sites of issue #7. */
export type FaultSite =
  "alloc" | "dma_map" | "umr" | "nonblockable_invalidate" | "process_kill" | "device_removal";

/** Which sites may fail in a run, and how often; drawn from the run's seed. */
export interface FaultPlan {
  readonly sites: readonly FaultSite[];
  /** Chance that one visit of an enabled site fails. Default chosen by the site's owner. */
  readonly probability?: number;
  /** Injections to skip, by number in the run (see `KernelOptions.suppressedFaults`). */
  readonly suppressed?: readonly number[];
}

/** No faults: the default plan. */
export const NO_FAULTS: FaultPlan = { sites: [] };

/** The default chance that one visit of an enabled site fails. */
export const DEFAULT_FAULT_PROBABILITY = 0.05;

/** The Kernel's fault-site table for a plan. */
export function faultSitesOf(plan: FaultPlan | undefined): Map<string, number> {
  const p = plan?.probability ?? DEFAULT_FAULT_PROBABILITY;
  return new Map((plan?.sites ?? []).map((site) => [site, p] as const));
}

/** The Kernel options that carry out `plan`. */
export function faultKernelOptions(plan: FaultPlan | undefined): {
  readonly faultSites: Map<string, number>;
  readonly suppressedFaults: readonly number[];
} {
  return { faultSites: faultSitesOf(plan), suppressedFaults: plan?.suppressed ?? [] };
}

/** Whether `plan` injects anything at all. */
export function hasFaults(plan: FaultPlan | undefined): plan is FaultPlan {
  return plan !== undefined && plan.sites.length > 0;
}

/** Every site name, for argument checking. */
export const FAULT_SITES: readonly FaultSite[] = [
  "alloc",
  "dma_map",
  "umr",
  "nonblockable_invalidate",
  "process_kill",
  "device_removal",
];

/** Whether `name` is a fault site's name. */
export function isFaultSite(name: string): name is FaultSite {
  return (FAULT_SITES as readonly string[]).includes(name);
}
