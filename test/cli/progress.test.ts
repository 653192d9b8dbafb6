/**
 * The progress bar of long commands (src/cli/progress.ts): when it is drawn (a terminal,
 * not CI, not --json), what one redraw says (done of total, rate, elapsed, left), and
 * `odpsim explore` drawing it on stderr when stderr is taken for a terminal
 * (ODPSIM_PROGRESS_TTY=1) and staying silent on a pipe, in CI and with --json.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import {
  duration,
  progressLine,
  progressShown,
  startProgress,
  type ProgressTarget,
} from "../../src/cli/progress.ts";
import { BIN } from "./odpsim.ts";

test("drawn on a terminal only, never in CI or with --json", () => {
  assert.equal(progressShown({ isTTY: true, env: {} }, false), true);
  assert.equal(progressShown({ isTTY: false, env: {} }, false), false);
  assert.equal(progressShown({ isTTY: true, env: {} }, true), false);
  assert.equal(progressShown({ isTTY: true, env: { CI: "true" } }, false), false);
  assert.equal(progressShown({ isTTY: true, env: { CI: "1" } }, false), false);
  assert.equal(progressShown({ isTTY: true, env: { CI: "" } }, false), true);
  assert.equal(progressShown({ isTTY: true, env: { CI: "false" } }, false), true);
  assert.equal(progressShown({ isTTY: false, env: { ODPSIM_PROGRESS_TTY: "1" } }, false), true);
  assert.equal(
    progressShown({ isTTY: false, env: { ODPSIM_PROGRESS_TTY: "1", CI: "1" } }, false),
    false,
  );
});

test("a redraw says done of total, the rate, the time elapsed and the time left", () => {
  assert.equal(
    progressLine("explore", "schedules", 5000, 20000, 2000),
    "explore [######------------------] 5000/20000 schedules  2500/s  elapsed 2.0s  left 6.0s",
  );
  assert.match(
    progressLine("catalog check", "entries", 3, 24, 6000),
    /3\/24 entries {2}0\.5\/s {2}elapsed 6\.0s {2}left 42\.0s$/,
  );
  assert.match(progressLine("explore", "schedules", 0, 10, 0), /left \?$/);
  assert.equal(duration(185), "3m05s");
  assert.equal(duration(3720), "1h02m");
});

/** A target whose clock the test moves. */
function fakeTarget(isTTY: boolean) {
  let now = 0;
  const written: string[] = [];
  const target: ProgressTarget = {
    isTTY,
    env: {},
    write: (t) => written.push(t),
    now: () => now,
  };
  return { target, written, advance: (ms: number) => (now += ms) };
}

test("redraws are paced by the clock, the last one always drawn, and end clears the line", () => {
  const t = fakeTarget(true);
  const p = startProgress("explore", "schedules", 1000, { json: false, target: t.target });
  p.tick(1);
  p.tick(2); // same instant: not redrawn
  t.advance(200);
  p.tick(300);
  p.tick(1000); // the total: drawn even within the pacing interval
  p.end();
  assert.equal(t.written.length, 4);
  assert.match(t.written[0] ?? "", /^\rexplore \[-+\] 1\/1000 schedules/);
  assert.match(t.written[1] ?? "", /300\/1000 schedules {2}1500\/s {2}elapsed 0\.2s {2}left 0\.5s/);
  assert.match(t.written[2] ?? "", /1000\/1000/);
  assert.equal(t.written[3], "\r\x1b[K");
  const pipe = fakeTarget(false);
  const silent = startProgress("explore", "schedules", 1000, { json: false, target: pipe.target });
  silent.tick(1000);
  silent.end();
  assert.deepEqual(pipe.written, []);
});

function exploreStderr(env: Record<string, string>, ...extra: string[]): string {
  const clean = { ...process.env };
  delete clean.CI;
  const r = spawnSync(
    process.execPath,
    [BIN, "explore", "fault-vs-invalidate", "--schedules", "400", ...extra],
    { encoding: "utf8", env: { ...clean, NO_COLOR: "1", ...env }, timeout: 300_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test("odpsim explore draws progress on a terminal, nothing on a pipe, in CI or with --json", () => {
  const drawn = exploreStderr({ ODPSIM_PROGRESS_TTY: "1" });
  assert.match(
    drawn,
    /\rexplore \[[#-]+\] \d+\/400 schedules {2}[\d.]+\/s {2}elapsed [\d.]+s {2}left /,
  );
  assert.ok(drawn.endsWith("\r\x1b[K"), "the bar is cleared at the end");
  assert.equal(exploreStderr({}), "");
  assert.equal(exploreStderr({ ODPSIM_PROGRESS_TTY: "1", CI: "true" }), "");
  assert.equal(exploreStderr({ ODPSIM_PROGRESS_TTY: "1" }, "--json"), "");
});
