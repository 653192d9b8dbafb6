import assert from "node:assert/strict";
import { test } from "node:test";
import { rcPingpong } from "../../src/programs/rcPingpong.ts";
import { NO_ODP_CAPS } from "../../src/rdma/core/ibVerbs.ts";

test("rc_pingpong over pinned memory: every iteration completes, no page faults", () => {
  const r = rcPingpong({ iters: 20 });
  assert.equal(r.error, null);
  assert.ok(r.ok);
  assert.equal(r.iterations, 20);
  assert.equal(r.bytes, 2 * 20 * 4096);
  assert.equal(r.pageFaults, 0);
  assert.ok(r.usecPerIter > 0);
  assert.match(r.output.join("\n"), /20 iters in .* usec\/iter/);
});

test("rc_pingpong -o: the first touch of each buffer faults, later iterations are warm", () => {
  const r = rcPingpong({ iters: 20, odp: true });
  assert.ok(r.ok, String(r.error));
  assert.ok(r.pageFaults >= 2 && r.pageFaults <= 4, `faults ${r.pageFaults}`);
});

test("rc_pingpong -o -P: the synchronous PREFETCH_WRITE leaves nothing to fault", () => {
  const r = rcPingpong({ iters: 20, odp: true, prefetch: true });
  assert.ok(r.ok, String(r.error));
  assert.equal(r.pageFaults, 0);
  assert.deepEqual(r.warnings, []);
});

test("rc_pingpong -o with faults forced every iteration is slower per round trip", () => {
  const warm = rcPingpong({ iters: 10, odp: true });
  const cold = rcPingpong({ iters: 10, odp: true, forceFaults: true });
  assert.ok(cold.ok, String(cold.error));
  assert.ok(cold.pageFaults >= 10);
  assert.ok(cold.usecPerIter > 5 * warm.usecPerIter);
});

test("rc_pingpong -P without -o only warns (advise_mr refuses a pinned MR)", () => {
  const r = rcPingpong({ iters: 5, prefetch: true });
  assert.ok(r.ok);
  assert.deepEqual(r.warnings, [
    "Couldn't prefetch MR(-EINVAL). Continue anyway",
    "Couldn't prefetch MR(-EINVAL). Continue anyway",
  ]);
});

test("rc_pingpong -o on a device without ODP refuses after query_device_ex", () => {
  const r = rcPingpong({ iters: 5, odp: true, odpCaps: NO_ODP_CAPS });
  assert.equal(r.ok, false);
  assert.match(String(r.error), /isn't ODP capable/);
});

test("rc_pingpong -O (implicit ODP) on the interval, classic and hmm-mirror designs", () => {
  const r = rcPingpong({ iters: 5, implicitOdp: true, design: "interval" });
  assert.ok(r.ok, String(r.error));
  const classic = rcPingpong({ iters: 5, implicitOdp: true, design: "classic" });
  assert.ok(classic.ok, String(classic.error));
  assert.ok(classic.pageFaults > 0, "the implicit children were faulted in");
  const mirror = rcPingpong({ iters: 5, implicitOdp: true, design: "hmm-mirror" });
  assert.ok(mirror.ok, String(mirror.error));
  assert.ok(mirror.pageFaults > 0, "the implicit children were faulted in");
});
