/**
 * tools/testing/selftests/mm/hmm-tests.c, ported onto odpsim's dmirror: each test is
 * named after the original case and checks what the original checks. The migrate_*
 * cases (device-private memory) are not applicable; see docs/conformance.md.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DmirrorDevice,
  dmirrorFopsOpen,
  dmirrorFopsRelease,
  type Dmirror,
} from "../../src/dmirror/dmirror.ts";
import {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  dmirrorFopsUnlockedIoctl,
  type HmmDmirrorCommand,
} from "../../src/dmirror/dmirrorCommands.ts";
import { attachDeviceTranslationOracle } from "../../src/check/oracles/deviceAccess.ts";
import { cpuRead, cpuWrite } from "../../src/mm/access.ts";
import { Inode, kernelRead, kernelWrite, openFile } from "../../src/mm/file.ts";
import { MADV_HUGEPAGE, doMadvise } from "../../src/mm/madvise.ts";
import type { MmStruct } from "../../src/mm/mmStruct.ts";
import {
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../src/mm/mmap.ts";
import { doMprotect } from "../../src/mm/mprotect.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../../src/mm/page.ts";
import { PhysMem } from "../../src/mm/physMem.ts";
import { Process, exitMm, forkProcess } from "../../src/mm/process.ts";
import { EFAULT, EPERM } from "../../src/sim/errno.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import type { KGen } from "../../src/sim/task.ts";

const HMM_BUFFER_SIZE = 1024 << 12;
const NTIMES = 10;

interface Hmm {
  readonly k: Kernel;
  readonly phys: PhysMem;
  readonly proc: Process;
  readonly mm: MmStruct;
  readonly dev: DmirrorDevice;
  /** self->fd: the dmirror FIXTURE_SETUP opened. */
  readonly fd: Dmirror;
}

/** struct hmm_buffer. */
interface HmmBuffer {
  ptr: number;
  mirror: Uint8Array;
  size: number;
  cpages: number;
  faults: number;
}

/** FIXTURE_SETUP / TEST_F body / FIXTURE_TEARDOWN, as one task of one process. */
function runHmm(body: (t: Hmm) => KGen): Kernel {
  const k = new Kernel({ seed: 1 });
  const phys = new PhysMem(k, { frames: 16384 });
  const proc = new Process(k, phys);
  const mm = proc.mm;
  assert.ok(mm !== null);
  // The mirror's page table is checked as mlx5's MTT is: every access, every free.
  attachDeviceTranslationOracle(k);
  const dev = new DmirrorDevice(k, "hmm_dmirror0");
  proc.spawnThread("hmm-tests", function* (): KGen {
    const fd = yield* dmirrorFopsOpen(dev, mm);
    assert.ok(typeof fd !== "number", "dmirror open failed");
    yield* body({ k, phys, proc, mm, dev, fd });
    yield* dmirrorFopsRelease(fd);
  });
  const r = k.run();
  assert.equal(r.internalError, null, `${r.internalError?.message}\n${r.internalError?.stack}`);
  assert.deepEqual(r.violations, []);
  return k;
}

/** hmm_dmirror_cmd(). */
function* hmmDmirrorCmd(
  fd: Dmirror,
  request: HmmDmirrorCommand,
  buffer: HmmBuffer,
  npages: number,
): KGen<number> {
  const cmd = { addr: buffer.ptr, ptr: buffer.mirror, npages, cpages: 0, faults: 0 };
  const ret = yield* dmirrorFopsUnlockedIoctl(fd, request, cmd);
  if (ret !== 0) return ret;
  buffer.cpages = cmd.cpages;
  buffer.faults = cmd.faults;
  return 0;
}

/** Int32s as bytes: element i is f(i). */
function ints(n: number, f: (i: number) => number): Uint8Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return new Uint8Array(a.buffer);
}

/** Asserts element i of `bytes` (as int32s) is f(i), for i in [from, to). */
function assertInts(
  bytes: Uint8Array,
  f: (i: number) => number,
  from = 0,
  to = bytes.length / 4,
): void {
  const a = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  for (let i = from; i < to; i++) {
    if (a[i] !== f(i)) assert.fail(`int ${i}: ${a[i]} != ${f(i)}`);
  }
}

function* mmapOk(
  mm: MmStruct,
  size: number,
  prot: number,
  flags: number,
  file: ReturnType<typeof openFile> | null = null,
): KGen<number> {
  const addr = yield* vmMmap(mm, 0, size, prot, flags, file, 0);
  assert.ok(addr > 0, `mmap: ${addr}`);
  return addr;
}

/** CPU accesses go 64 pages at a time, as a loop of int stores would fault them. */
const CPU_CHUNK = 64 * PAGE_SIZE;

function* cpuStore(mm: MmStruct, addr: number, data: Uint8Array): KGen {
  for (let off = 0; off < data.length; off += CPU_CHUNK) {
    const r = yield* cpuWrite(mm, addr + off, data.subarray(off, off + CPU_CHUNK));
    assert.ok(r.ok, "CPU store faulted");
  }
}

function* cpuLoad(mm: MmStruct, addr: number, len: number): KGen<Uint8Array> {
  const out = new Uint8Array(len);
  for (let off = 0; off < len; off += CPU_CHUNK) {
    const r = yield* cpuRead(mm, addr + off, Math.min(CPU_CHUNK, len - off));
    if (!r.ok) assert.fail(`CPU load faulted: ${r.fault.signal}`);
    out.set(r.data, off);
  }
  return out;
}

function newBuffer(size: number): HmmBuffer {
  return { ptr: 0, mirror: new Uint8Array(size), size, cpages: 0, faults: 0 };
}

/** hmm_buffer_free(). */
function* hmmBufferFree(mm: MmStruct, buffer: HmmBuffer): KGen {
  if (buffer.ptr !== 0) assert.equal(yield* vmMunmap(mm, buffer.ptr, buffer.size), 0);
  buffer.ptr = 0;
}

const npagesOf = (size: number): number => size / PAGE_SIZE;

test("open_close", () => {
  let mmCountAfterOpen = 0;
  const k = runHmm(function* (t) {
    mmCountAfterOpen = t.mm.mmCount.read();
    yield "nothing";
  });
  assert.equal(mmCountAfterOpen, 2); // the users' count plus the notifier's mmgrab
  assert.deepEqual(k.kasan.liveObjects("dmirror"), []);
});

test("anon_read", () => {
  runHmm(function* ({ mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    // Leave the first two pages zero (pte_none and the zero page).
    const skip = (2 * PAGE_SIZE) / 4;
    yield* cpuStore(
      mm,
      buffer.ptr + 2 * PAGE_SIZE,
      ints(size / 4 - skip, (i) => i + skip),
    );
    assert.equal(yield* doMprotect(mm, buffer.ptr, size, PROT_READ), 0);
    // Populate the CPU page table with the zero page.
    assertInts(yield* cpuLoad(mm, buffer.ptr + PAGE_SIZE, 4), () => 0);
    assert.equal(yield* hmmDmirrorCmd(fd, "READ", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(buffer.mirror, () => 0, 0, skip);
    assertInts(buffer.mirror, (i) => i, skip);
    yield* hmmBufferFree(mm, buffer);
  });
});

test("anon_read_prot", () => {
  runHmm(function* ({ mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    yield* cpuStore(
      mm,
      buffer.ptr,
      ints(size / 4, (i) => i),
    );
    buffer.mirror.set(ints(size / 4, (i) => -i));
    assert.equal(yield* doMprotect(mm, buffer.ptr, size, PROT_NONE), 0);
    assert.equal(yield* hmmDmirrorCmd(fd, "READ", buffer, npages), EFAULT);
    assert.equal(yield* doMprotect(mm, buffer.ptr, size, PROT_READ), 0);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i);
    assertInts(buffer.mirror, (i) => -i); // the mirror was not written
    yield* hmmBufferFree(mm, buffer);
  });
});

test("anon_write", () => {
  runHmm(function* ({ mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    buffer.mirror.set(ints(size / 4, (i) => i));
    assert.equal(yield* hmmDmirrorCmd(fd, "WRITE", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i);
    yield* hmmBufferFree(mm, buffer);
  });
});

test("anon_write_prot", () => {
  runHmm(function* ({ mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    // A device read of one page maps the zero page.
    assert.equal(yield* hmmDmirrorCmd(fd, "READ", buffer, 1), 0);
    assert.equal(buffer.cpages, 1);
    assert.equal(buffer.faults, 1);
    buffer.mirror.set(ints(size / 4, (i) => i));
    assert.equal(yield* hmmDmirrorCmd(fd, "WRITE", buffer, npages), EPERM);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), () => 0);
    // Now allow writing: the zero page is replaced.
    assert.equal(yield* doMprotect(mm, buffer.ptr, size, PROT_WRITE | PROT_READ), 0);
    assert.equal(yield* hmmDmirrorCmd(fd, "WRITE", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i);
    yield* hmmBufferFree(mm, buffer);
  });
});

/** The child half of anon_write_child(_shared): its own dmirror on its own mm. */
function* childWrites(t: Hmm, child: Process, buffer: HmmBuffer, npages: number): KGen {
  const cmm = child.mm;
  assert.ok(cmm !== null);
  const size = npages * PAGE_SIZE;
  assertInts(yield* cpuLoad(cmm, buffer.ptr, size), (i) => i); // the parent's values
  assertInts(buffer.mirror, (i) => -i);
  const childFd = yield* dmirrorFopsOpen(t.dev, cmm);
  assert.ok(typeof childFd !== "number");
  assert.equal(yield* hmmDmirrorCmd(childFd, "WRITE", buffer, npages), 0);
  assert.equal(buffer.cpages, npages);
  assert.equal(buffer.faults, 1);
  assertInts(yield* cpuLoad(cmm, buffer.ptr, size), (i) => -i);
  yield* dmirrorFopsRelease(childFd);
  yield* exitMm(child); // _exit(0)
}

test("anon_write_child", () => {
  runHmm(function* (t) {
    const { mm } = t;
    // migrate = 1 needs device-private memory: not applicable (docs/conformance.md).
    for (const useThp of [false, true]) {
      const size = useThp ? HPAGE_PMD_SIZE : HMM_BUFFER_SIZE;
      const npages = npagesOf(size);
      const buffer = newBuffer(size);
      buffer.size = size * 2;
      buffer.ptr = yield* mmapOk(mm, size * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const oldPtr = buffer.ptr;
      if (useThp) {
        const map = Math.ceil(buffer.ptr / size) * size;
        assert.equal(yield* doMadvise(mm, map, size, MADV_HUGEPAGE), 0);
        buffer.ptr = map;
      }
      yield* cpuStore(
        mm,
        buffer.ptr,
        ints(size / 4, (i) => i),
      );
      buffer.mirror.set(ints(size / 4, (i) => -i));
      const child = yield* forkProcess(t.proc);
      assert.ok(child instanceof Process);
      yield* childWrites(t, child, buffer, npages); // the parent waits for it
      assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i); // parent unchanged
      buffer.ptr = oldPtr;
      yield* hmmBufferFree(mm, buffer);
    }
  });
});

test("anon_write_child_shared", () => {
  runHmm(function* (t) {
    const { mm } = t;
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    yield* cpuStore(
      mm,
      buffer.ptr,
      ints(size / 4, (i) => i),
    );
    buffer.mirror.set(ints(size / 4, (i) => -i));
    const child = yield* forkProcess(t.proc);
    assert.ok(child instanceof Process);
    yield* childWrites(t, child, buffer, npages);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => -i); // the parent sees it
    yield* hmmBufferFree(mm, buffer);
  });
});

test("anon_write_huge", () => {
  runHmm(function* ({ mm, fd }) {
    let size = 2 * HPAGE_PMD_SIZE;
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    size /= 2;
    const npages = npagesOf(size);
    const map = Math.ceil(buffer.ptr / size) * size;
    assert.equal(yield* doMadvise(mm, map, size, MADV_HUGEPAGE), 0);
    const oldPtr = buffer.ptr;
    buffer.ptr = map;
    buffer.mirror.set(ints(size / 4, (i) => i));
    assert.equal(yield* hmmDmirrorCmd(fd, "WRITE", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i);
    assert.notEqual(mm.pgtable.getPmd(map), undefined, "the write was into a THP");
    buffer.ptr = oldPtr;
    buffer.size = 2 * HPAGE_PMD_SIZE;
    yield* hmmBufferFree(mm, buffer);
  });
});

test("anon_write_hugetlbfs", () => {
  runHmm(function* ({ mm, fd }) {
    const size = HPAGE_PMD_SIZE;
    const npages = npagesOf(size);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(
      mm,
      size,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
    );
    buffer.mirror.set(ints(size / 4, (i) => i));
    assert.equal(yield* hmmDmirrorCmd(fd, "WRITE", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i);
    yield* hmmBufferFree(mm, buffer);
  });
});

test("file_read", () => {
  runHmm(function* ({ k, phys, mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const inode = new Inode(phys, "hmm-test-file", size); // hmm_create_file()
    const file = openFile(k, inode);
    const buffer = newBuffer(size);
    assert.equal(
      kernelWrite(
        inode,
        0,
        ints(size / 4, (i) => i),
      ),
      size,
    ); // pwrite
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ, MAP_SHARED, file);
    assert.equal(yield* hmmDmirrorCmd(fd, "READ", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(buffer.mirror, (i) => i);
    yield* hmmBufferFree(mm, buffer);
  });
});

test("file_write", () => {
  runHmm(function* ({ k, phys, mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    const inode = new Inode(phys, "hmm-test-file", size);
    const file = openFile(k, inode);
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_SHARED, file);
    buffer.mirror.set(ints(size / 4, (i) => i));
    assert.equal(yield* hmmDmirrorCmd(fd, "WRITE", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    assert.equal(buffer.faults, 1);
    assertInts(yield* cpuLoad(mm, buffer.ptr, size), (i) => i);
    assertInts(kernelRead(inode, 0, size), (i) => i); // pread sees the device's write
    yield* hmmBufferFree(mm, buffer);
  });
});

test("anon_read_multiple", () => {
  runHmm(function* ({ mm, fd }) {
    const size = HMM_BUFFER_SIZE;
    const npages = npagesOf(size);
    for (let c = 0; c < NTIMES; c++) {
      const buffer = newBuffer(size);
      buffer.ptr = yield* mmapOk(mm, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      yield* cpuStore(
        mm,
        buffer.ptr,
        ints(size / 4, (i) => i + c),
      );
      assert.equal(yield* hmmDmirrorCmd(fd, "READ", buffer, npages), 0);
      assert.equal(buffer.cpages, npages);
      assert.equal(buffer.faults, 1);
      assertInts(buffer.mirror, (i) => i + c);
      yield* hmmBufferFree(mm, buffer);
    }
  });
});

test("snapshot", () => {
  runHmm(function* ({ mm, fd }) {
    const npages = 7;
    const size = npages * PAGE_SIZE;
    const buffer = newBuffer(size);
    buffer.ptr = yield* mmapOk(mm, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    const p = buffer.ptr;
    // Punch a hole after the first page.
    assert.equal(yield* vmMunmap(mm, p + PAGE_SIZE, PAGE_SIZE), 0);
    // Page 2: the read-only zero page.
    assert.equal(yield* doMprotect(mm, p + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
    assertInts(yield* cpuLoad(mm, p + 2 * PAGE_SIZE, 4), () => 0);
    // Page 3: read-only.
    assert.equal(yield* doMprotect(mm, p + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
    yield* cpuStore(
      mm,
      p + 3 * PAGE_SIZE,
      ints(1, () => 3),
    );
    assert.equal(yield* doMprotect(mm, p + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
    // Pages 4-6: read-write; only page 4 touched. (The original migrates pages 5 and 6
    // to device-private memory; odpsim has none, so they stay untouched: NONE.)
    assert.equal(
      yield* doMprotect(mm, p + 4 * PAGE_SIZE, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE),
      0,
    );
    yield* cpuStore(
      mm,
      p + 4 * PAGE_SIZE,
      ints(1, () => 3),
    );
    assert.equal(yield* hmmDmirrorCmd(fd, "SNAPSHOT", buffer, npages), 0);
    assert.equal(buffer.cpages, npages);
    const m = buffer.mirror;
    assert.equal(m[0], HMM_DMIRROR_PROT_ERROR);
    assert.equal(m[1], HMM_DMIRROR_PROT_ERROR);
    assert.equal(m[2], HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ);
    assert.equal(m[3], HMM_DMIRROR_PROT_READ);
    assert.equal(m[4], HMM_DMIRROR_PROT_WRITE);
    assert.equal(m[5], HMM_DMIRROR_PROT_NONE);
    assert.equal(m[6], HMM_DMIRROR_PROT_NONE);
    // Snapshots never fault: pages 5 and 6 are still not present.
    assert.equal(mm.pgtable.getPte(p + 5 * PAGE_SIZE), undefined);
    assert.equal(yield* vmMunmap(mm, p, size), 0);
  });
});
