/**
 * The scenario operations on verbs objects beyond MRs: implicit MRs, RC QPs between
 * processes (post_recv, post_send, poll_cq), hot unplug of the NIC (device_remove), and
 * a process exit that closes its device file. Each test reads what the run did from its
 * trace events (`NAME:end` carries an operation's return value).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compile, events, returns } from "./traceEvents.ts";
import { runScenario } from "../../src/check/scenario.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import { runOnce } from "../../src/scenario/runOnce.ts";

const UNPLUG = `
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 2, fill: 0x11 }
      registrations:
        - { name: mr, buffer: buf }
    threads:
      - name: unplug
        kind: kernel
        ops:
          - device_remove
          - signal: removed
      - name: nic
        kind: nic
        ops:
          - wait: removed
          - dma_write: { mr: mr, bytes: 8, pattern: 0xa0, expect: { error: ENODEV } }
      - name: main
        ops:
          - wait: removed
          - sleep_us: 200
          - dereg_mr: { mr: mr, expect: { error: EIO } }
`;

test("device_remove destroys the process's MR and stops the NIC's DMA", () => {
  const evs = events(compile(UNPLUG));
  assert.ok(evs.some((e) => e.label === "mlx5_ib_remove"));
  // The file's objects and context are gone: uverbs refuses the late dereg.
  assert.deepEqual(returns(evs, "dereg_mr"), ["-EIO"]);
  const qpError = evs.find((e) => e.label === "QP error: the access failed (expected)");
  assert.equal(qpError?.fields?.ret, "-ENODEV");
});

test("without device_remove the same program deregisters and writes normally", () => {
  const evs = events(
    compile(
      UNPLUG.replace("          - device_remove\n", "          - sleep_us: 1\n")
        .replace(", expect: { error: ENODEV }", "")
        .replace(", expect: { error: EIO }", ""),
    ),
  );
  assert.deepEqual(returns(evs, "dereg_mr"), [0]);
  assert.equal(
    evs.some((e) => e.label.startsWith("QP error")),
    false,
  );
});

test("exit closes the device file: the MR is destroyed with the process", () => {
  const s = compile(`
name: t
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 2, fill: 0x11 }
      registrations:
        - { name: mr, buffer: buf }
    threads:
      - name: main
        ops:
          - exit
`);
  const run = runScenario(s, { seed: 0, strategy: new UniformRandom() });
  assert.equal(run.result.status, "ok");
  assert.deepEqual(run.violations, []);
  assert.deepEqual(run.kernel.kasan.liveObjects("mlx5_ib_mr"), []);
});

const TWO_HOSTS = (serverAccess: string, status = "") => `
name: t
hosts: [{ name: a }, { name: b }]
processes:
  - name: server
    host: a
    setup:
      buffers: [{ name: buf, pages: 1 }]
      registrations: [{ name: mr, buffer: buf, access: ${serverAccess} }]
      qps: [{ name: qp }]
    threads:
      - name: main
        ops:
          - post_recv: { qp: qp, mr: mr, bytes: 64 }
          - poll_cq: { qp: qp }
  - name: client
    host: b
    setup:
      buffers: [{ name: buf, pages: 1, fill: 0x42 }]
      registrations: [{ name: mr, buffer: buf }]
      qps: [{ name: qp, connect: { process: server, qp: qp } }]
    threads:
      - name: main
        ops:
          - post_send: { qp: qp, mr: mr, offset: 0, bytes: 16 }
          - post_send: { qp: qp, opcode: rdma_write, mr: mr, bytes: 8, remote: { mr: mr, offset: 512 } }
          - poll_cq: { qp: qp, count: 2${status} }
expect:
  data:
    - { process: server, buffer: buf, offset: 0, bytes: 16, pattern: 0x42 }
`;

test("a send and an RDMA write cross the wire between two hosts' ODP MRs", () => {
  const s = compile(TWO_HOSTS("[LOCAL_WRITE, REMOTE_WRITE, ON_DEMAND]"));
  const { report } = runOnce(s, { seed: 0, trace: true });
  assert.ok(report.clean, JSON.stringify(report.violations));
  assert.equal(report.dataChecks[0]?.status, "passed");
  const evs = events(s);
  const wcs = evs.filter((e) => e.label === "wc").map((e) => e.fields?.status);
  assert.deepEqual(wcs, ["SUCCESS", "SUCCESS", "SUCCESS"]);
  assert.ok(evs.some((e) => e.label === "wire_tx"));
});

test("a completion with the wrong status is expectation_failed; an expected one passes", () => {
  // The server's MR does not allow remote writes: the RDMA write completes in error.
  const noRemoteWrite = "[LOCAL_WRITE, ON_DEMAND]";
  const bad = runOnce(compile(TWO_HOSTS(noRemoteWrite)), { seed: 0 }).report;
  const [first] = bad.violations;
  assert.ok(first !== undefined);
  assert.equal(first.kind, "expectation_failed");
  assert.match(first.message, /RDMA_WRITE on QP qp is REM_ACCESS_ERR/);
  const any = runOnce(compile(TWO_HOSTS(noRemoteWrite, ", status: any")), { seed: 0 }).report;
  assert.deepEqual(any.violations, []);
});

test("an implicit MR reaches any buffer of the process, for the NIC and for prefetch", () => {
  const s = compile(`
name: t
design: interval
processes:
  - name: app
    setup:
      buffers: [{ name: a, pages: 1 }, { name: b, pages: 1 }]
      registrations: [{ name: imr, implicit: true }]
    threads:
      - name: nic
        kind: nic
        ops:
          - dma_write: { mr: imr, buffer: b, offset: 8, text: hi }
      - name: main
        ops:
          - advise_mr: { mr: imr, buffer: a, flush: true }
expect:
  data:
    - { buffer: b, offset: 8, text: hi }
`);
  const { report } = runOnce(s, { seed: 0 });
  assert.ok(report.clean, JSON.stringify(report.violations));
  assert.equal(report.dataChecks[0]?.status, "passed");
  assert.deepEqual(returns(events(s), "advise_mr"), [0]);
});
