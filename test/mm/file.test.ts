import assert from "node:assert/strict";
import { test } from "node:test";
import {
  File,
  Inode,
  fput,
  getFile,
  kernelRead,
  kernelWrite,
  readBacking,
  writebackInode,
} from "../../src/mm/file.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import type { KGen } from "../../src/sim/task.ts";
import { fill, runIn, world } from "./helpers.ts";

test("file: a write goes to the page cache, dirty; writeback copies it to the backing store", () => {
  const w = world();
  const inode = new Inode(w.phys, "f", 0);
  assert.equal(kernelWrite(inode, PAGE_SIZE - 2, fill(4, 3)), 4);
  assert.equal(inode.size, PAGE_SIZE + 2);
  assert.equal(inode.pageCache.size, 2);
  assert.deepEqual([...kernelRead(inode, PAGE_SIZE - 3, 10)], [0, 3, 3, 3, 3]);
  assert.deepEqual([...readBacking(inode, PAGE_SIZE - 2, 4)], [0, 0, 0, 0]);
  assert.equal(writebackInode(inode), 2);
  assert.equal(writebackInode(inode), 0, "clean after writeback");
  assert.deepEqual([...readBacking(inode, PAGE_SIZE - 2, 4)], [3, 3, 3, 3]);
});

test("file: the last fput runs ->release and frees the file; a shmem inode drops its pages", () => {
  const w = world();
  const released: string[] = [];
  const shm = new Inode(w.phys, "shm", PAGE_SIZE, true);
  const file = new File(w.k, shm, {
    *release(f: File): KGen {
      released.push(f.objName);
    },
  });
  kernelWrite(shm, 0, fill(1, 1));
  const used = w.phys.usedFrames;
  runIn(w, function* (): KGen {
    getFile(file);
    yield* fput(file);
    assert.deepEqual(released, []);
    yield* fput(file);
    assert.equal(released.length, 1);
    assert.equal(file.freed, true);
    assert.equal(w.phys.usedFrames, used - 1);
  });
});

test("file: an fput after the last one is a use-after-free", () => {
  const k = new Kernel();
  const file = new File(k, null, {});
  k.spawn("t", { kind: "process", name: "p" }, function* (): KGen {
    yield* fput(file);
    yield* fput(file);
  });
  assert.equal(k.run().violations[0]?.kind, "use_after_free");
});
