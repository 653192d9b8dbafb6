/**
 * The fault sites that are tasks act in scenario files too (src/scenario/world.ts,
 * spawnScenarioFaultTasks over src/check/faultTasks.ts): `process_kill` is a SIGKILL per
 * process, `device_removal` a hot unplug per host, `nonblockable_invalidate` an OOM
 * reaper pass per process, each at a time drawn from the seed once setup is done.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScenario } from "../../src/check/scenario.ts";
import type { FaultSite } from "../../src/check/faults.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import { compileScenario } from "../../src/scenario/compile.ts";
import { parseScenarioText } from "../../src/scenario/parse.ts";

/** Two hosts; on the first, the NIC writes 4 pages of an MR its user deregisters. */
function scenario(site: FaultSite) {
  const text = `
name: fault-tasks
faults: { sites: [${site}] }
hosts: [{ name: h0 }, { name: h1 }]
processes:
  - name: app
    setup:
      buffers: [{ name: buf, pages: 4, fill: 0x11 }]
      registrations: [{ name: mr, buffer: buf }]
      mirrors: [{ name: m }]
    threads:
      - name: nic
        kind: nic
        ops:
          - dma_write: { mr: mr, offset: 0, bytes: 16, pattern: 1, expect: { error: any } }
          - dma_write: { mr: mr, offset: 4096, bytes: 16, pattern: 2, expect: { error: any } }
          - dma_write: { mr: mr, offset: 8192, bytes: 16, pattern: 3, expect: { error: any } }
          - dma_write: { mr: mr, offset: 12288, bytes: 16, pattern: 4, expect: { error: any } }
      - name: user
        ops:
          - mirror_read: { mirror: m, buffer: buf, expect: { error: any } }
          - sleep_us: 20
          - dereg_mr: { mr: mr }
          - cpu_write: { buffer: buf, bytes: 8, pattern: 0x22 }
  - name: other
    host: h1
    setup:
      buffers: [{ name: b, pages: 1 }]
      registrations: [{ name: mr, buffer: b }]
    threads:
      - name: nic
        kind: nic
        ops:
          - dma_write: { mr: mr, bytes: 16, pattern: 1 }
`;
  return compileScenario(parseScenarioText(text, "inline.yaml"));
}

function runSeed(site: FaultSite, seed: number) {
  const s = scenario(site);
  const run = runScenario(s, { seed, strategy: new UniformRandom(), trace: true });
  const trace = run.result.trace;
  const endOf = (label: string) =>
    trace?.entries.some((e) => e.kind === "event" && e.label === label);
  return { run, world: s.worldOf(run.kernel), endOf };
}

test("process_kill in a scenario file kills each process: its MRs go, its threads stop", () => {
  let killedEarly = 0;
  for (let seed = 0; seed < 20; seed++) {
    const { run, world, endOf } = runSeed("process_kill", seed);
    assert.deepEqual(run.violations, [], `seed ${seed}`);
    // One SIGKILL per process, each injected.
    assert.equal(run.kernel.faultsInjected, 2, `seed ${seed}`);
    for (const p of world.procs.values()) {
      assert.equal(p.proc.mm, null, `seed ${seed}: ${p.name} survived`);
      assert.equal(p.host.dev.mrs.size, 0, `seed ${seed}: an MR of ${p.name} outlived it`);
      assert.ok(p.proc.threads.every((t) => t.state === "done"));
      assert.equal(p.host.dev.removed, false);
    }
    // The exit closed the mirror too (dmirror_fops_release from exit_files).
    assert.equal(world.procs.get("app")?.mirrors.get("m")?.dmirror.freed, true);
    if (endOf("cpu_write:end") !== true) killedEarly++;
  }
  // Some kills come before the user thread finished: it stopped where it was.
  assert.ok(killedEarly > 0, "no kill ever stopped the user thread");
});

test("device_removal in a scenario file unplugs each host's NIC: its MRs go, DMA stops", () => {
  let beforeDereg = 0;
  for (let seed = 0; seed < 20; seed++) {
    const { run, world, endOf } = runSeed("device_removal", seed);
    assert.deepEqual(run.violations, [], `seed ${seed}`);
    assert.equal(run.kernel.faultsInjected, 2, `seed ${seed}`);
    for (const h of world.hosts.values()) {
      assert.equal(h.dev.removed, true, `seed ${seed}: ${h.name} still plugged`);
      assert.equal(h.dev.mrs.size, 0);
      assert.equal(h.udev.uverbsFileList.length, 0);
    }
    // The processes live on: the program's own memory is still its own.
    assert.equal(endOf("cpu_write:end"), true, `seed ${seed}`);
    const deregs = run.result.trace?.entries.filter(
      (e) => e.kind === "event" && e.label === "dereg_mr:end",
    );
    if (deregs?.[0]?.fields?.ret === "-EIO") beforeDereg++;
  }
  assert.ok(beforeDereg > 0, "no unplug ever came before the user's dereg_mr");
});

test("nonblockable_invalidate in a scenario file: an OOM reaper pass per process", () => {
  for (let seed = 0; seed < 10; seed++) {
    const { run } = runSeed("nonblockable_invalidate", seed);
    assert.deepEqual(run.violations, [], `seed ${seed}`);
    const names = run.result.trace?.tasks.map((t) => t.name).filter((n) => n.startsWith("oom"));
    assert.deepEqual(names, ["oom_reaper app", "oom_reaper other"]);
    assert.equal(run.kernel.faultsInjected, 2);
  }
});

test("without faults no fault task is spawned; with them the draws are the seed's", () => {
  const hashOf = (site: FaultSite, seed: number) => runSeed(site, seed).run.result.trace?.hash();
  assert.equal(hashOf("process_kill", 3), hashOf("process_kill", 3));
  const s = scenario("process_kill");
  const plain = runScenario(s, { seed: 3, strategy: new UniformRandom(), faults: { sites: [] } });
  assert.equal(plain.kernel.faultsInjected, 0);
  assert.ok(s.worldOf(plain.kernel).procs.get("app")?.proc.mm !== null);
});
