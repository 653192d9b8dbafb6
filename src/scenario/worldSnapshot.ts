/**
 * What the viewer's snapshots show of a scenario file's world: every process it has made
 * (forked children included) and every host's NIC.
 *
 * Models no kernel file.
 */
import type { SnapshotModel } from "../check/snapshots/odpSnapshot.ts";
import type { World } from "./world.ts";

export function worldSnapshotModel(world: World): SnapshotModel {
  return {
    processes: () =>
      [...world.procs.values()].map((p) => ({ pid: p.proc.pid, name: p.name, mm: p.proc.mm })),
    devices: () => [...world.hosts.values()].map((h) => h.dev),
  };
}
