/**
 * Catalog scenarios for uverbs IO-memory mmap and hot unplug (catalog 17 and 18).
 *
 * Models no kernel file: the kind of program (a verbs application that maps its
 * doorbell, forks, splits and unmaps mappings) running while the device is
 * hot-unplugged, which the disassociation protocol of seed 004 must survive. Nothing is
 * scripted: the explorer's strategy decides every interleaving.
 *
 *   uverbs-fork-unplug  a process maps its doorbell and driver page, forks; the child
 *                       rings the doorbell and exits; the parent rings it, splits
 *                       nothing, unmaps and closes; a device task unplugs the device.
 *   uverbs-mmap-unplug  two processes each map a doorbell and a driver page, ring the
 *                       doorbell, unmap the page and map it again, while the device is
 *                       unplugged.
 */
import { fput } from "../../../mm/file.ts";
import { vmMunmap } from "../../../mm/mmap.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { exitMm, forkProcess, type Process } from "../../../mm/process.ts";
import { cpuRead, cpuWrite } from "../../../mm/access.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import type { KGen } from "../../../sim/task.ts";
import { ibUverbsOpen } from "../../../rdma/core/uverbs/uverbsMain.ts";
import { ibUverbsRemoveOne } from "../../../rdma/core/uverbs/uverbsMain.ts";
import type { Scenario, ScenarioContext } from "../../scenario.ts";
import {
  mmapObject,
  newProcess,
  ufileOf,
  uverbsHost,
  type UverbsFd,
  type UverbsHost,
} from "./uverbsHost.ts";

function host(ctx: ScenarioContext): UverbsHost {
  return uverbsHost({
    seed: ctx.seed,
    strategy: ctx.strategy,
    trace: ctx.trace === true,
    ...(ctx.timing === undefined ? {} : { timing: ctx.timing }),
    defects: ctx.defects ?? [],
    design: ctx.design ?? "seed",
    maxSteps: 20_000,
  });
}

/** ibv_open_device(); null once the device is gone (the program just stops). */
function* tryOpen(h: UverbsHost, p: Process, mm: MmStruct): KGen<UverbsFd | null> {
  const file = yield* ibUverbsOpen(h.udev, mm, p.pid);
  if (typeof file === "number") return null;
  const ucontext = ufileOf(file).ucontext;
  if (ucontext === null) {
    yield* fput(file);
    return null;
  }
  return { file, offsets: h.driver.offsets(ucontext) };
}

/** Rings the doorbell at `addr`: a store, then a load (either may fault: fine). */
function* ring(mm: MmStruct, addr: number, value: number): KGen {
  yield* cpuWrite(mm, addr, new Uint8Array([value]));
  yield* cpuRead(mm, addr, 1);
}

/** Steps of PCI work before uverbs hears of the removal. */
const UNPLUG_LEAD_STEPS = 12;

/** The device task: hot unplug, then the BAR disappears. */
function spawnUnplug(h: UverbsHost): void {
  h.k.spawn("unplug", { kind: "device", name: h.ibDev.name }, () => unplug(h));
}

function* unplug(h: UverbsHost): KGen {
  // The hot-plug interrupt, the PCI core and the driver's remove callback run first:
  // a few steps of work in which the applications keep going.
  for (let i = 0; i < UNPLUG_LEAD_STEPS; i++) yield "pci hot unplug";
  yield* ibUverbsRemoveOne(h.udev);
  h.driver.pciRemove();
}

export const uverbsForkUnplug: Scenario = {
  name: "uverbs-fork-unplug",
  description:
    "uverbs-fork-unplug v2: parent: open, mmap doorbell + page, ring, fork, ring, munmap " +
    "doorbell, close fd, exit (exit at once if open fails); child: ring twice, exit; unplug: remove_one, release BAR",
  build(ctx) {
    const h = host(ctx);
    const parent = newProcess(h);
    parent.spawnThread("parent", () => forkingParent(h, parent));
    spawnUnplug(h);
    return h.k;
  },
};

function* forkingParent(h: UverbsHost, parent: Process): KGen {
  const mm = parent.mm;
  if (mm === null) return;
  const fd = yield* tryOpen(h, parent, mm);
  if (fd === null) {
    yield* exitMm(parent);
    return;
  }
  const db = yield* mmapObject(mm, fd);
  yield* mmapObject(mm, fd, { what: "page" });
  if (db > 0) yield* ring(mm, db, 1);
  const child = yield* forkProcess(parent);
  if (typeof child !== "number") {
    h.oracle.watchProcess(child);
    child.spawnThread("child", () => forkedChild(child, db));
  }
  if (db > 0) {
    yield* ring(mm, db, 4);
    yield* vmMunmap(mm, db, PAGE_SIZE);
  }
  yield* fput(fd.file);
  yield* exitMm(parent);
}

/** The child rings the doorbell it inherited twice, then exits. */
function* forkedChild(child: Process, db: number): KGen {
  const cmm = child.mm;
  if (cmm === null) return;
  if (db > 0) {
    yield* ring(cmm, db, 2);
    yield* ring(cmm, db, 3);
  }
  yield* exitMm(child);
}

export const uverbsMmapUnplug: Scenario = {
  name: "uverbs-mmap-unplug",
  description:
    "uverbs-mmap-unplug v2: two processes: open, mmap doorbell + page, ring, munmap page, " +
    "mmap page again, close fd, exit; unplug: remove_one, release BAR",
  build(ctx) {
    const h = host(ctx);
    for (let i = 0; i < 2; i++) {
      const p = newProcess(h);
      p.spawnThread(`app${i}`, () => remappingApp(h, p, i));
    }
    spawnUnplug(h);
    return h.k;
  },
};

function* remappingApp(h: UverbsHost, p: Process, i: number): KGen {
  const mm = p.mm;
  if (mm === null) return;
  const fd = yield* tryOpen(h, p, mm);
  if (fd === null) {
    yield* exitMm(p);
    return;
  }
  const db = yield* mmapObject(mm, fd);
  const pg = yield* mmapObject(mm, fd, { what: "page" });
  if (db > 0) yield* ring(mm, db, 5 + i);
  if (pg > 0) yield* vmMunmap(mm, pg, PAGE_SIZE);
  yield* mmapObject(mm, fd, { what: "page" });
  yield* fput(fd.file);
  yield* exitMm(p);
}
