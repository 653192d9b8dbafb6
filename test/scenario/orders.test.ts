/**
 * Saying "after" in a scenario and saying which failures are expected: `signal` / `wait`
 * order steps whatever the timing (sleeps order nothing under free timing), a wait on an
 * event no thread signals is an input error, a NIC access or a system call that fails
 * shows as a violation unless the operation expects it, and an expected failure that
 * does not come is one too.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { compileScenario, type CompiledScenario } from "../../src/scenario/compile.ts";
import { ScenarioError } from "../../src/scenario/errors.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";
import { renderRunReport, runOnce } from "../../src/scenario/runOnce.ts";

function compile(text: string): CompiledScenario {
  return compileScenario(parseScenarioText(text, "inline.yaml"));
}

/** The NIC writes; the CPU reads and must see the NIC's bytes: `order` says how. */
const handoff = (order: "sleep" | "events") => `
name: handoff
processes:
  - name: app
    setup:
      buffers: [{ name: buf, pages: 1, fill: 0x11 }]
      registrations: [{ name: mr, buffer: buf }]
    threads:
      - name: nic
        kind: nic
        ops:
          - dma_write: { mr: mr, bytes: 16, pattern: 0xa0 }
${order === "events" ? "          - signal: nic-wrote" : ""}
      - name: main
        ops:
          - ${order === "events" ? "wait: nic-wrote" : "sleep_us: 100"}
          - cpu_read: { buffer: buf, bytes: 16, expect: { pattern: 0xa0 } }
`;

test("a sleep orders nothing under free timing; signal/wait does", () => {
  const bySleep = explore(compile(handoff("sleep")), { strategy: "random", schedules: 300 });
  assert.equal(bySleep.verdict, "violation");
  assert.equal(bySleep.firstFailure?.violation.kind, "data_mismatch");
  const byEvents = explore(compile(handoff("events")), {
    strategy: "random",
    schedules: 300,
    stopAtFirst: false,
  });
  assert.equal(byEvents.verdict, "clean");
  // Under nominal timing the sleep happens to be long enough: the check passed only so.
  const nominal = explore(compile(handoff("sleep")), {
    strategy: "random",
    schedules: 300,
    timing: "nominal",
  });
  assert.equal(nominal.verdict, "clean");
});

test("a wait on an event no thread signals is an input error at the wait", () => {
  const text = handoff("events").replace("signal: nic-wrote", "signal: nic-done");
  assert.throws(
    () => compile(text),
    (e: unknown) =>
      e instanceof ScenarioError &&
      /inline\.yaml:\d+:\d+: no thread signals event "nic-wrote" \(signalled events: nic-done\)/.test(
        e.format(),
      ),
  );
});

const unmapped = (expect: string) => `
name: unmapped
processes:
  - name: app
    setup:
      buffers: [{ name: buf, pages: 2 }]
      registrations: [{ name: mr, buffer: buf }]
    threads:
      - name: main
        ops:
          - munmap: { buffer: buf, offset: 4096, pages: 1 }
          - signal: unmapped
          - munmap: { buffer: buf, offset: 4096, pages: 1, expect: { error: any } }
      - name: nic
        kind: nic
        ops:
          - wait: unmapped
          - dma_write: { mr: mr, offset: 4096, bytes: 16, pattern: 1${expect} }
`;

test("a NIC access that fails unexpectedly is a qp_error the run report shows", () => {
  const { report } = runOnce(compile(unmapped("")), { seed: 0 });
  assert.equal(report.verdict, "violation");
  assert.equal(report.violations[0]?.kind, "qp_error");
  assert.match(
    renderRunReport(report),
    /qp_error at step \d+ in nic#\d+: app\/nic op 1 dma_write failed \(-EFAULT\)/,
  );
  assert.match(JSON.stringify(report), /"kind":"qp_error"/);
});

test("an expected failure passes; one that does not come is expectation_failed", () => {
  const expected = runOnce(compile(unmapped(", expect: { error: EFAULT }")), { seed: 0 });
  assert.equal(expected.report.verdict, "clean");
  const missing = compile(
    unmapped(", expect: { error: EFAULT }").replace(
      "offset: 4096, bytes: 16",
      "offset: 0, bytes: 16",
    ),
  );
  const r = runOnce(missing, { seed: 0 }).report;
  assert.equal(r.violations[0]?.kind, "expectation_failed");
  assert.match(r.violations.at(0)?.message ?? "", /expected -EFAULT, the access succeeded/);
});

test("a system call that fails unexpectedly is unexpected_error; expect: error accepts it", () => {
  const text = unmapped(", expect: { error: any }").replace(
    "munmap: { buffer: buf, offset: 4096, pages: 1, expect: { error: any } }",
    "mprotect: { buffer: buf, offset: 4096, pages: 1, prot: [read] }",
  );
  const r = runOnce(compile(text), { seed: 0 }).report;
  assert.equal(r.violations[0]?.kind, "unexpected_error");
  assert.match(r.violations.at(0)?.message ?? "", /app\/main op 2 mprotect failed: -ENOMEM/);
  const accepted = text.replace("prot: [read] }", "prot: [read], expect: { error: ENOMEM } }");
  assert.equal(runOnce(compile(accepted), { seed: 0 }).report.verdict, "clean");
});

// examples/15's header: with rc_pingpong's ACK timer, a responder that stays slow for
// eight timeouts in a row fails the send with RETRY_EXC_ERR, a check that holds only under
// some timings; `timeout: 0` (infinite) is what makes the example's completions hold.
test("the ping-pong example's completions hold only with the ACK timer off", () => {
  const text = readFileSync("examples/15-pingpong-two-hosts.yaml", "utf8");
  assert.match(text, /timeout: 0/);
  const withTimer = compile(text.replaceAll(", timeout: 0", ""));
  const found = explore(withTimer, { strategy: "random", schedules: 2000 });
  assert.equal(found.verdict, "violation");
  assert.match(found.firstFailure?.violation.message ?? "", /RETRY_EXC_ERR/);
});
