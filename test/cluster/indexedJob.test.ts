/**
 * examples/cluster/odpsim-indexed-job.yaml: its counts agree, and its containers'
 * commands, run here as Kubernetes runs them (bash -c with the Job's env, one pod per
 * JOB_COMPLETION_INDEX, the merge pod after), give the answer one process gives. No
 * Kubernetes here: the budget and the completions are made small, the rest is the
 * manifest's own.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { BIN, odpsim, comparableAnswer } from "../cli/odpsim.ts";

const MANIFEST = new URL("../../examples/cluster/odpsim-indexed-job.yaml", import.meta.url);

interface Container {
  readonly command: string[];
  readonly args?: string[];
  readonly env: { name: string; value: string }[];
}
interface Doc {
  readonly kind: string;
  readonly metadata: { name: string };
  readonly spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    template: { spec: { containers: Container[] } };
  };
}

const docs = parseAllDocuments(readFileSync(MANIFEST, "utf8")).map((d) => d.toJS() as Doc);
const job = (name: string) => {
  const d = docs.find((x) => x.kind === "Job" && x.metadata.name === name);
  assert.ok(d !== undefined, `no Job ${name}`);
  return d;
};
const container = (name: string) => job(name).spec.template.spec.containers[0] as Container;
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

test("the Indexed Job's completions, parallelism and both ODPSIM_SHARD_COUNTs agree", () => {
  const explore = job("odpsim-explore");
  assert.equal(explore.spec.completionMode, "Indexed");
  const n = String(explore.spec.completions);
  assert.equal(String(explore.spec.parallelism), n);
  assert.equal(envOf(container("odpsim-explore")).ODPSIM_SHARD_COUNT, n);
  assert.equal(envOf(container("odpsim-merge")).ODPSIM_SHARD_COUNT, n);
  assert.match(container("odpsim-explore").command.join(" "), /--shard auto --json/);
});

const dir = mkdtempSync(join(tmpdir(), "odpsim-k8s-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test("the manifest's pods, run by hand with 3 completions, merge to one process's answer", () => {
  const search = [
    "fault-vs-invalidate",
    "--defect",
    "classic-no-retry-check",
    "--schedules",
    "200",
  ];
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(BIN, join(bin, "odpsim"));
  const results = join(dir, "results");
  const pod = (c: Container, args: string[], extra: Record<string, string>) => {
    const [cmd, ...rest] = c.command;
    const env = {
      ...process.env,
      ...envOf(c),
      PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
      NO_COLOR: "1",
      ODPSIM_RESULTS: results,
      ODPSIM_SHARD_COUNT: "3",
      ...extra,
    };
    return spawnSync(cmd as string, [...rest, ...args], {
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
  };
  for (const index of [0, 1, 2]) {
    const r = pod(container("odpsim-explore"), search, { JOB_COMPLETION_INDEX: String(index) });
    assert.equal(r.status, 0, `pod ${index}: ${r.stderr}`);
  }
  const m = pod(container("odpsim-merge"), [], { ODPSIM_MERGE_WAIT: "5" });
  assert.equal(m.status, 1, `the merge's exit code is the verdict's: ${m.stderr}`);
  assert.match(m.stdout, /merged 3 of 3 shards/);
  const merged = JSON.parse(readFileSync(join(results, "merged.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const single = odpsim("explore", ...search, "--json");
  assert.deepEqual(
    comparableAnswer(merged),
    comparableAnswer(JSON.parse(single.stdout) as Record<string, unknown>),
  );
});
