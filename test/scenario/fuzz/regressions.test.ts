/**
 * Model bugs `odpsim fuzz` found, each as the shrunk program it wrote, now passing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../../src/check/explore.ts";
import { compileScenario } from "../../../src/scenario/compile.ts";
import { parseScenarioText } from "../../../src/scenario/parse.ts";

function exploreText(text: string, schedules: number) {
  const scenario = compileScenario(parseScenarioText(text, "regression.yaml"));
  return explore(scenario, { strategy: "random", schedules, seed: 0, timing: "free" });
}

// odpsim fuzz --design classic --defect classic-no-retry-check --programs 300, program 66:
// a second ibv_destroy_qp of one QP called the driver again, which waited for ever for
// the QP's resource to be freed (deadlock on rsc_free). uverbs finds no handle: -ENOENT.
test("destroying a QP twice: the second call gets ENOENT, nothing hangs", () => {
  const r = exploreText(
    `
name: destroy-qp-twice
design: classic
hosts: [{ name: host0, frames: 64 }]
processes:
  - name: p0
    setup:
      buffers: [{ name: b0, pages: 1 }]
      qps: [{ name: qp, timeout: 1 }]
    threads:
      - name: t0
        ops:
          - destroy_qp: { qp: qp }
          - destroy_qp: { qp: qp, expect: { error: ENOENT } }
`,
    50,
  );
  assert.equal(r.verdict, "clean", JSON.stringify(r.firstFailure?.violation));
});

// odpsim fuzz --design classic --defect classic-no-retry-check --programs 300, program 88:
// one thread's exit freed the mm while a sibling was in a system call (a store's fault
// on the unmapped page: use_after_free of the mm). Each thread holds its own mm_users reference, as CLONE_VM threads do.
test("a thread exits while a sibling is in a system call: the mm outlives the call", () => {
  const r = exploreText(
    `
name: exit-vs-sibling-syscall
design: classic
hosts: [{ name: host0, frames: 64 }]
processes:
  - name: p1
    setup:
      buffers: [{ name: b0, pages: 1 }]
    threads:
      - name: t0
        ops:
          - exit
      - name: t1
        ops:
          - munmap: { buffer: b0, pages: 1, expect: { error: any } }
          - cpu_write: { buffer: b0, bytes: 1, pattern: 0, expect: { signal: any } }
`,
    300,
  );
  assert.equal(r.verdict, "clean", JSON.stringify(r.firstFailure?.violation));
});

// npm run fuzz -- --runs 10000 --seed 1, program 8008 (fuzz/findings/finding-classic-bad_page-12.yaml):
// a write to a page shared with a fork child copies it (wp_page_copy) and sleeps in the
// allocation; meanwhile the OOM reaper unmaps the child's copy and migration, finding the
// page mapped once with one reference, moved it and freed the frame; the copy then put
// the freed frame (put_page underflow). do_wp_page() holds a reference on the old page
// across the copy (get_page before dropping the page-table lock), so migration refuses it.
test("a COW copy in progress pins the old page: migration and the OOM reaper leave it be", () => {
  const r = exploreText(
    `
name: cow-copy-vs-migrate
design: classic
hosts: [{ name: host0, frames: 64 }]
processes:
  - name: p0
    setup:
      buffers: [{ name: b0, pages: 1, prot: [read, write], fill: 0 }]
    threads:
      - name: t0
        kind: kernel
        ops:
          - migrate: { buffer: b0, offset: 0, pages: 1, expect: { error: any } }
      - name: t1
        ops:
          - fork: { child: child, expect: { error: any } }
          - cpu_write: { buffer: b0, offset: 0, bytes: 1, pattern: 40, expect: { signal: any } }
  - name: child
    forkOf: p0
    threads:
      - name: t0
        kind: kernel
        ops:
          - oom_reap
`,
    2000,
  );
  assert.equal(r.verdict, "clean", JSON.stringify(r.firstFailure?.violation));
});

// odpsim fuzz --design classic --defect classic-no-srcu-sync --programs 5, program 0: hot
// unplug deregistered an implicit MR while a fault handler was in odp_lookup; with no
// synchronize_srcu in dereg the root umem's release had cleared umem_odp->per_mm, and the
// model threw an internal error where the kernel oopses on a NULL pointer.
const IMPLICIT_FAULT_VS_UNPLUG = `
name: implicit-fault-vs-unplug
design: classic
hosts: [{ name: host0, frames: 64 }]
processes:
  - name: p0
    setup:
      buffers: [{ name: b0, pages: 1, prot: [read, write] }]
      registrations: [{ name: mr0, implicit: true }]
    threads:
      - name: t0
        kind: nic
        ops:
          - dma_write: { mr: mr0, buffer: b0, offset: 0, bytes: 1, pattern: 0, expect: { error: any } }
faults: { sites: [device_removal], probability: 0.05 }
`;

test("a fault outrunning an implicit MR's release without synchronize_srcu is a NULL dereference", () => {
  const r = exploreText(`${IMPLICIT_FAULT_VS_UNPLUG}defects: [classic-no-srcu-sync]\n`, 200);
  assert.equal(r.verdict, "violation", JSON.stringify(r.firstFailure));
  assert.equal(r.firstFailure?.violation.kind, "null_pointer_dereference");
});

test("the same fault against hot unplug with synchronize_srcu in dereg is clean", () => {
  const r = exploreText(IMPLICIT_FAULT_VS_UNPLUG, 200);
  assert.equal(r.verdict, "clean", JSON.stringify(r.firstFailure?.violation));
});

// The fixed-design soak (hmm-mirror, seed 1, program 13275), shrunk by hand: a sibling's
// exit closed the process's files while a thread was inside a dmirror ioctl, so the
// mirror was released (its interval notifier removed) under the ioctl, which then missed
// migration's invalidation and mapped and read the freed page (device_use_after_free).
// ioctl(2) holds the file across the call (fdget with a shared file table): the release
// waits for it. Any design: the dmirror is lib/test_hmm.c's.
test("a dmirror ioctl holds its file: a sibling's exit cannot release the mirror under it", () => {
  const r = exploreText(
    `
name: mirror-read-vs-sibling-exit
design: interval
hosts: [{ name: host0, frames: 64 }]
processes:
  - name: p0
    setup:
      buffers: [{ name: b1, pages: 1, fill: 0 }]
      mirrors: [{ name: mirror }]
    threads:
      - name: t0
        ops:
          - mirror_read: { mirror: mirror, buffer: b1, offset: 0, pages: 1, expect: { error: any } }
      - name: t1
        kind: kernel
        ops:
          - migrate: { buffer: b1, offset: 0, pages: 1, expect: { error: any } }
      - name: t2
        ops:
          - exit
`,
    1000,
  );
  assert.equal(r.verdict, "clean", JSON.stringify(r.firstFailure?.violation));
});
