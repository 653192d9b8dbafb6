import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost, type OdpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { setupOdpFileBuffer } from "../../../src/check/catalog/scenarios/writebackVsOdp.ts";
import { attachLostDeviceWriteOracle } from "../../../src/check/oracles/lostDeviceWrite.ts";
import { Inode, readBacking } from "../../../src/mm/file.ts";
import { vmMunmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { filemapWriteAndWait } from "../../../src/mm/pageWriteback.ts";
import { invalidateMappingPages } from "../../../src/mm/truncate.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import type { RunResult } from "../../../src/sim/kernel.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";

const DISK = 0x11;

/** A 2-page file on disk, mapped shared, read (page 0) and stored to (page 1), ODP MR. */
function fileHost(defects: string[]): { host: OdpHost; inode: Inode } {
  const host = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "interval", defects });
  attachLostDeviceWriteOracle(host.dev);
  const inode = new Inode(host.phys, "data", 2 * PAGE_SIZE);
  for (let i = 0; i < 2; i++) inode.backing.set(i, new Uint8Array(PAGE_SIZE).fill(DISK));
  return { host, inode };
}

/** Runs `body` (given the buffer address) as one thread after the setup. */
function run(host: OdpHost, inode: Inode, body: (addr: number, key: number) => KGen): RunResult {
  host.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpFileBuffer(host, inode);
    yield* body(buf.addr, buf.mr.lkey);
  });
  return host.k.run();
}

function* deviceWrite(host: OdpHost, key: number, va: number, value: number): KGen {
  const req = { key, va, buf: new Uint8Array(8).fill(value), write: true };
  assert.equal(yield* mlx5DeviceDma(host.dev, host.design, req), 0);
}

test("lost device write: a clean page the device wrote is dropped, its bytes never written", () => {
  const { host, inode } = fileHost(["unmap-no-dirty"]);
  const r = run(host, inode, function* (addr, key): KGen {
    yield* deviceWrite(host, key, addr, 0xd0);
    yield* vmMunmap(host.proc.mm ?? assert.fail(), addr, 2 * PAGE_SIZE);
    yield* filemapWriteAndWait(inode);
    yield* invalidateMappingPages(inode);
  });
  assert.deepEqual(
    r.violations.map((v) => [v.kind, v.details["index"]]),
    [["lost_device_write", 0]],
  );
  assert.match(r.violations[0]?.task ?? "", /^t#/, "reported by the task dropping the page");
  assert.deepEqual([...readBacking(inode, 0, 2)], [DISK, DISK], "the file kept the old bytes");
});

test("lost device write: with the unmap dirtying the page, writeback saves it and nothing is lost", () => {
  const { host, inode } = fileHost([]);
  const r = run(host, inode, function* (addr, key): KGen {
    yield* deviceWrite(host, key, addr, 0xd0);
    yield* vmMunmap(host.proc.mm ?? assert.fail(), addr, 2 * PAGE_SIZE);
    assert.equal(inode.pageCache.get(0)?.dirty, true, "ODP's unmap dirtied it");
    yield* invalidateMappingPages(inode); // a dirty page is not dropped
    yield* filemapWriteAndWait(inode);
    assert.equal(yield* invalidateMappingPages(inode), 2);
  });
  assert.deepEqual(r.violations, []);
  assert.deepEqual([...readBacking(inode, 0, 2)], [0xd0, 0xd0]);
});

test("lost device write: writeback's page_mkclean takes the page from the device, whose next write dirties it", () => {
  const { host, inode } = fileHost(["unmap-no-dirty"]);
  const r = run(host, inode, function* (addr, key): KGen {
    const page1 = addr + PAGE_SIZE; // dirty by the CPU's store, mapped by the device
    yield* deviceWrite(host, key, page1, 0xd1);
    assert.equal(yield* filemapWriteAndWait(inode), 1);
    assert.deepEqual([...readBacking(inode, PAGE_SIZE, 1)], [0xd1], "written before cleaning");
    yield* deviceWrite(host, key, page1, 0xd2); // faults: the PTE is read-only now
    assert.equal(inode.pageCache.get(1)?.dirty, true, "the device's write fault dirtied it");
    yield* vmMunmap(host.proc.mm ?? assert.fail(), addr, 2 * PAGE_SIZE);
    yield* filemapWriteAndWait(inode);
    yield* invalidateMappingPages(inode);
  });
  assert.deepEqual(r.violations, []);
  assert.deepEqual([...readBacking(inode, PAGE_SIZE, 1)], [0xd2]);
});

test("lost device write: not reported when the device stored what the disk already has", () => {
  const { host, inode } = fileHost(["unmap-no-dirty"]);
  const r = run(host, inode, function* (addr, key): KGen {
    yield* deviceWrite(host, key, addr, DISK);
    yield* vmMunmap(host.proc.mm ?? assert.fail(), addr, 2 * PAGE_SIZE);
    yield* filemapWriteAndWait(inode);
    yield* invalidateMappingPages(inode);
  });
  assert.deepEqual(r.violations, []);
});
