/**
 * The toy scenarios, built from simulation-kernel primitives only: what the explorer is
 * tested and benchmarked on until the memory/RDMA scenarios exist.
 *
 * Models no kernel file.
 */
import type { Scenario } from "../scenario.ts";
import { flagRace } from "./flagRace.ts";
import { interleavings2x2 } from "./interleavings.ts";
import { lockInversion } from "./lockInversion.ts";
import { lostUpdate } from "./lostUpdate.ts";
import { lostWakeup } from "./lostWakeup.ts";
import { publishFree } from "./publishFree.ts";
import { sharedCountersScenario } from "./sharedCounters.ts";

export { flagRace, flagRaceScenario, type FlagRaceOptions } from "./flagRace.ts";
export { interleavings2x2, interleavingsScenario } from "./interleavings.ts";
export { lockInversion } from "./lockInversion.ts";
export { lostUpdate, lostUpdateScenario } from "./lostUpdate.ts";
export { lostWakeup } from "./lostWakeup.ts";
export { publishFree, publishFreeScenario, type PublishFreeOptions } from "./publishFree.ts";
export {
  sharedCountersOf,
  sharedCountersScenario,
  type SharedCountersOptions,
} from "./sharedCounters.ts";

/** Every toy scenario by name, the lookup a token replay needs. */
export const toyScenarios: ReadonlyMap<string, Scenario> = new Map(
  [
    lostUpdate,
    lockInversion,
    lostWakeup,
    flagRace,
    publishFree,
    interleavings2x2,
    sharedCountersScenario(),
  ].map((s) => [s.name, s] as const),
);
