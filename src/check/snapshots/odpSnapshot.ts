/**
 * What the viewer shows of an ODP machine at a step: each process's VMAs and present
 * pages, and each MR's device translations with the stale ones marked. The machine is a
 * catalog scenario's host (one process, one NIC) or a scenario file's world (several
 * hosts and processes, forked children included): a `SnapshotModel` lists them.
 *
 * Models no kernel file: an observer that reads the model's state (page tables, MTTs)
 * the way the oracles do, and copies it into run-file snapshots.
 */
import { walkPte } from "../../mm/pageTable.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import * as vm from "../../mm/vma.ts";
import { mttPfn, mttReadable, mttWritable } from "../../rdma/mlx5/mkey.ts";
import type { SnapshotMr, SnapshotProcess, SnapshotVma } from "../../output/runFile.ts";
import type { SnapshotSource } from "../../output/snapshotRecorder.ts";
import type { MmStruct } from "../../mm/mmStruct.ts";
import type { Mlx5IbDev } from "../../rdma/mlx5/mlx5IbDev.ts";
import type { OdpHost } from "../catalog/scenarios/odpHost.ts";

/** The processes and NICs a snapshot shows, as they are now. */
export interface SnapshotModel {
  processes(): readonly {
    readonly pid: number;
    readonly name: string;
    readonly mm: MmStruct | null;
  }[];
  devices(): readonly Mlx5IbDev[];
}

/** A catalog scenario's host: its one process and NIC. */
export function odpHostModel(host: OdpHost): SnapshotModel {
  return {
    processes: () => [{ pid: host.proc.pid, name: `pid ${host.proc.pid}`, mm: host.proc.mm }],
    devices: () => [host.dev],
  };
}

/** Pages listed per process at most (a huge sparse VMA must not flood the file). */
const MAX_PAGES = 512;

const FLAG_NAMES: readonly [number, string][] = [
  [vm.VM_READ, "READ"],
  [vm.VM_WRITE, "WRITE"],
  [vm.VM_SHARED, "SHARED"],
  [vm.VM_IO, "IO"],
  [vm.VM_PFNMAP, "PFNMAP"],
  [vm.VM_HUGETLB, "HUGETLB"],
  [vm.VM_DONTCOPY, "DONTCOPY"],
];

export function odpSnapshotSource(model: SnapshotModel): SnapshotSource {
  return { snapshot: () => ({ processes: processesOf(model), mrs: mrsOf(model) }) };
}

function processesOf(model: SnapshotModel): SnapshotProcess[] {
  const out: SnapshotProcess[] = [];
  for (const p of model.processes()) {
    const mm = p.mm;
    if (mm === null || mm.freed) continue;
    out.push({ pid: p.pid, name: p.name, vmas: vmasOf(mm), pages: pagesOf(mm) });
  }
  return out;
}

function vmasOf(mm: MmStruct): SnapshotVma[] {
  return mm.vmas.map((v) => ({
    start: v.vmStart,
    end: v.vmEnd,
    flags: FLAG_NAMES.filter(([bit]) => (v.vmFlags & bit) !== 0).map(([, name]) => name),
  }));
}

function pagesOf(mm: MmStruct): SnapshotProcess["pages"][number][] {
  const pages = [];
  for (const v of mm.vmas) {
    for (let va = v.vmStart; va < v.vmEnd && pages.length < MAX_PAGES; va += PAGE_SIZE) {
      const walk = walkPte(mm, va);
      const pfn = walk === null ? null : walk.pte.pfn + Math.floor((va - walk.base) / PAGE_SIZE);
      pages.push({
        va,
        pfn,
        present: walk !== null,
        writable: walk?.pte.writable ?? false,
        dirty: walk?.pte.dirty ?? false,
      });
    }
  }
  return pages;
}

function mrsOf(model: SnapshotModel): SnapshotMr[] {
  const devices = model.devices();
  return devices.flatMap((dev) => deviceMrs(dev, devices.length > 1 ? `${dev.name} ` : ""));
}

function deviceMrs(dev: Mlx5IbDev, prefix: string): SnapshotMr[] {
  const out: SnapshotMr[] = [];
  for (const [key, mr] of dev.mrs) {
    const mtt = mr.mmkey.mtt;
    const gen = mr.mmkey.mttGen;
    const mm = mr.umem?.owningMm ?? null;
    if (mtt === null || gen === null) continue;
    const entries: SnapshotMr["entries"][number][] = [];
    mtt.forEachSet(0, mtt.length, (idx, entry) => {
      const va = mr.mmkey.iova + idx * 2 ** mr.mmkey.pageShift;
      const pfn = mttPfn(entry);
      const page = dev.phys.pfnToPage(pfn);
      const walk = mm === null || mm.freed ? null : walkPte(mm, va);
      const cpuPfn = walk === null ? null : walk.pte.pfn + Math.floor((va - walk.base) / PAGE_SIZE);
      const reused = page.kind === "free" || page.generation !== gen.get(idx) - 1;
      entries.push({
        va,
        pfn,
        read: mttReadable(entry),
        write: mttWritable(entry),
        stale: reused || cpuPfn !== pfn,
      });
    });
    out.push({ name: `${prefix}mr 0x${key.toString(16)}`, lkey: key, entries });
  }
  return out;
}
