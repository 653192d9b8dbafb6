/**
 * The device-translation oracle on a mirror other than mlx5: dmirror's page table is a
 * DevicePageTable, so a dmirror whose invalidation does not reach its page table is
 * caught when the frame it still translates is freed, and a device access through a
 * translation the CPU no longer backs is caught at the access; the same dmirror with
 * its real invalidate stays clean. hmm_range_fault hands the mirror each frame's
 * generation, which is what the translation records.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DmirrorDevice,
  dmirrorFopsOpen,
  dmirrorFopsRelease,
  type Dmirror,
} from "../../../src/dmirror/dmirror.ts";
import { dmirrorFopsUnlockedIoctl } from "../../../src/dmirror/dmirrorCommands.ts";
import { attachDeviceTranslationOracle } from "../../../src/check/oracles/deviceAccess.ts";
import { cpuWrite } from "../../../src/mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../../src/mm/mmap.ts";
import { dupMm } from "../../../src/mm/fork.ts";
import { mmuIntervalSetSeq } from "../../../src/mm/notifier/mmuIntervalNotifier.ts";
import { PAGE_SIZE, frameId } from "../../../src/mm/page.ts";
import { PhysMem } from "../../../src/mm/physMem.ts";
import { Process } from "../../../src/mm/process.ts";
import { Kernel } from "../../../src/sim/kernel.ts";
import type { KGen } from "../../../src/sim/task.ts";

/** An invalidate that bumps the seq but leaves the device page table as it was. */
function breakInvalidation(dmirror: Dmirror): void {
  dmirror.notifier.ops = {
    name: "dmirror-broken",
    *invalidate(sub, _range, curSeq) {
      mmuIntervalSetSeq(sub, curSeq);
      return true;
    },
  };
}

interface Outcome {
  readonly k: Kernel;
  readonly mapped: number | undefined;
}

/** Map a page, mirror it in, then `after` (with the dmirror and the page's address). */
function runMirror(broken: boolean, after: (d: Dmirror, addr: number) => KGen): Outcome {
  const k = new Kernel({ seed: 1, trace: true });
  attachDeviceTranslationOracle(k);
  const phys = new PhysMem(k, { frames: 64 });
  const proc = new Process(k, phys);
  const dev = new DmirrorDevice(k, "hmm_dmirror0");
  let mapped: number | undefined;
  proc.spawnThread("test", function* (): KGen {
    const mm = proc.mm;
    assert.ok(mm !== null);
    const addr = yield* vmMmap(
      mm,
      0,
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    yield* cpuWrite(mm, addr, new Uint8Array([7]));
    const d = yield* dmirrorFopsOpen(dev, mm);
    assert.ok(typeof d !== "number");
    if (broken) breakInvalidation(d);
    const cmd = { addr, ptr: new Uint8Array(PAGE_SIZE), npages: 1, cpages: 0, faults: 0 };
    assert.equal(yield* dmirrorFopsUnlockedIoctl(d, "READ", cmd), 0);
    assert.equal(cmd.ptr[0], 7);
    mapped = d.pt.lookup(addr)?.generation;
    yield* after(d, addr);
    yield* dmirrorFopsRelease(d);
  });
  k.run();
  return { k, mapped };
}

function* munmapThenRead(d: Dmirror, addr: number): KGen {
  yield* vmMunmap(d.mm, addr, PAGE_SIZE);
  const cmd = { addr, ptr: new Uint8Array(PAGE_SIZE), npages: 1, cpages: 0, faults: 0 };
  yield* dmirrorFopsUnlockedIoctl(d, "READ", cmd);
}

test("a dmirror that ignores invalidations is caught when the frame it maps is freed", () => {
  const { k, mapped } = runMirror(true, munmapThenRead);
  const v = k.violations[0];
  assert.equal(v?.kind, "device_translation_outlives_frame", JSON.stringify(k.violations));
  const objects = v.details["objects"] as string[];
  const pfn = v.details["pfn"] as number;
  // The frame's life it names is the one the translation recorded (from hmm_range_fault).
  assert.equal(mapped, 0);
  assert.ok(objects.includes(frameId(pfn, 1, 0)), objects.join(" "));
});

test("a translation the driver could not drop (keep) names why in the report", () => {
  const { k } = runMirror(false, function* (d: Dmirror, addr: number): KGen {
    d.notifier.ops = {
      name: "dmirror-failed-zap",
      *invalidate(sub, range, curSeq) {
        mmuIntervalSetSeq(sub, curSeq);
        d.pt.keep(range.start, range.end, "its zap failed");
        return true;
      },
    };
    yield* vmMunmap(d.mm, addr, PAGE_SIZE);
  });
  const v = k.violations[0];
  assert.equal(v?.kind, "device_translation_outlives_frame", JSON.stringify(k.violations));
  assert.match(
    v.message,
    /freed while the device still translates va 0x[0-9a-f]+ to it \(its zap failed\)$/,
  );
});

test("the same dmirror with its invalidate is clean through munmap and a new fault", () => {
  const { k } = runMirror(false, munmapThenRead);
  assert.deepEqual(k.violations, []);
});

test("an access through a translation the CPU replaced is a stale translation", () => {
  // After fork the parent's write copies the page (COW): the old frame lives on in the
  // child, so nothing is freed, but the mirror still translates to it.
  const { k } = runMirror(true, function* (d: Dmirror, addr: number): KGen {
    const child = yield* dupMm(d.mm);
    assert.ok(typeof child !== "number");
    yield* cpuWrite(d.mm, addr, new Uint8Array([9]));
    const cmd = { addr, ptr: new Uint8Array(PAGE_SIZE), npages: 1, cpages: 0, faults: 0 };
    yield* dmirrorFopsUnlockedIoctl(d, "READ", cmd);
  });
  const v = k.violations[0];
  assert.equal(v?.kind, "device_stale_translation", JSON.stringify(k.violations));
  assert.match(
    v.message,
    /dmirror#\d+ read of va 0x[0-9a-f]+ uses pfn \d+; the CPU maps \d+ there/,
  );
});

test("with its invalidate, the fork's copy-on-write reaches the mirror and it refaults", () => {
  const { k } = runMirror(false, function* (d: Dmirror, addr: number): KGen {
    const child = yield* dupMm(d.mm);
    assert.ok(typeof child !== "number");
    yield* cpuWrite(d.mm, addr, new Uint8Array([9]));
    const cmd = { addr, ptr: new Uint8Array(PAGE_SIZE), npages: 1, cpages: 0, faults: 0 };
    assert.equal(yield* dmirrorFopsUnlockedIoctl(d, "READ", cmd), 0);
    assert.equal(cmd.ptr[0], 9);
  });
  assert.deepEqual(k.violations, []);
});
