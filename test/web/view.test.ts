import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { viewCommand } from "../../src/cli/view.ts";
import { serializeRunFile } from "../../src/output/runFile.ts";
import { startViewerServer } from "../../src/output/viewerServer.ts";
import { staleRace } from "../output/fixtures/staleRace.ts";
import { BIN } from "../cli/odpsim.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "odpsim-view-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function view(file: string, port?: number): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await viewCommand(file, port === undefined ? {} : { port }, {
    out: () => undefined,
    err: (l) => err.push(l),
    stopped: Promise.resolve(),
  });
  return { code, err };
}

test("view rejects a missing, non-JSON or wrong-version file with exit 2 and one line", async () => {
  await withDir(async (dir) => {
    const missing = await view(join(dir, "nope.json"));
    assert.deepEqual(missing, {
      code: 2,
      err: [`odpsim: cannot read ${join(dir, "nope.json")}: no such file`],
    });

    const bad = join(dir, "bad.json");
    await writeFile(bad, "{ not json");
    const notJson = await view(bad);
    assert.equal(notJson.code, 2);
    assert.match(notJson.err.join("\n"), /^odpsim: .*bad\.json: not JSON: /);

    const { run } = staleRace();
    const v2 = join(dir, "v2.json");
    await writeFile(v2, JSON.stringify({ ...run, version: 2 }));
    assert.deepEqual(await view(v2), {
      code: 2,
      err: [`odpsim: ${v2}: unsupported run file version 2: this odpsim reads version 1`],
    });

    const incomplete = join(dir, "incomplete.json");
    await writeFile(incomplete, JSON.stringify({ ...run, snapshots: "many" }));
    assert.match((await view(incomplete)).err.join(""), /invalid run file: snapshots: /);

    const good = join(dir, "good.json");
    await writeFile(good, serializeRunFile(run));
    assert.match(
      (await view(good, 70000)).err.join(""),
      /--port must be an integer in \[0, 65535\]/,
    );
  });
});

test("the server serves the viewer, the run at /run.json, and nothing outside its folder", async () => {
  await withDir(async (dir) => {
    const dist = join(dir, "dist");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dist, "assets"), { recursive: true });
    await writeFile(join(dist, "index.html"), "<!doctype html><title>v</title>");
    await writeFile(join(dist, "assets", "a.js"), "export {};");
    await writeFile(join(dir, "secret.txt"), "secret");
    const server = await startViewerServer({ distDir: dist, runJson: '{"version":1}' });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?run=\/run\.json$/);
      const base = `http://127.0.0.1:${server.port}`;
      const index = await fetch(server.url);
      assert.equal(index.status, 200);
      assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
      const js = await fetch(`${base}/assets/a.js`);
      assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
      const runJson = await fetch(`${base}/run.json`);
      assert.equal(await runJson.text(), '{"version":1}');
      for (const path of [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/nope",
      ]) {
        assert.equal((await fetch(`${base}${path}`)).status, 404, path);
      }
      assert.equal((await fetch(base, { method: "POST" })).status, 405);
    } finally {
      await server.close();
    }
  });
});

/** The URL `odpsim view` prints on `stdout`, once it has. */
function urlPrinted(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise<string>((done, fail) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?run=\/run\.json/.exec(out);
      if (m !== null) done(m[0]);
    });
    child.on("exit", () => {
      fail(new Error(`view exited before printing its URL: ${stderr()}`));
    });
  });
}

/** `odpsim view FILE` as a user starts it, with its exit and the URL it prints. */
function odpsimView(file: string) {
  const child = spawn(process.execPath, ["--single-threaded-gc", BIN, "view", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => {
    child.on("exit", done);
  });
  return { child, exited, url: urlPrinted(child, () => stderr), stderr: () => stderr };
}

async function withRunFile(fn: (file: string, text: string) => Promise<void>): Promise<void> {
  await withDir(async (dir) => {
    const file = join(dir, "run.json");
    const text = serializeRunFile(staleRace().run);
    await writeFile(file, text);
    await fn(file, text);
  });
}

test("odpsim view exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
  await withRunFile(async (file, text) => {
    const view = odpsimView(file);
    const served = await fetch(new URL("/run.json", await view.url));
    assert.equal(await served.text(), text);
    view.child.kill("SIGTERM");
    assert.equal(await view.exited, 0, view.stderr());
  });
});

test(
  "odpsim view stops when the process that started it is killed (as npx would be)",
  { timeout: 60_000 },
  async () => {
    await withRunFile(async (file) => {
      // A wrapper that starts odpsim view and dies by SIGKILL, passing nothing on: the
      // view, now an orphan, must notice and stop. Its stdout closing says it has exited.
      const wrapper = spawn(
        process.execPath,
        [
          "-e",
          "require('node:child_process').spawn(process.execPath, process.argv.slice(1), " +
            "{ stdio: 'inherit' }); setInterval(() => undefined, 1000);",
          "--single-threaded-gc",
          BIN,
          "view",
          file,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      wrapper.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<void>((done) => {
        wrapper.stdout.on("close", done);
      });
      const url = await urlPrinted(wrapper, () => stderr);
      assert.equal((await fetch(url)).status, 200);
      wrapper.kill("SIGKILL");
      await closed;
      await assert.rejects(fetch(url), "the server still answers after its parent died");
    });
  },
);

test(
  "odpsim view prints the URL, serves the run, and exits 0 on SIGINT",
  { timeout: 60_000 },
  async () => {
    await withDir(async (dir) => {
      const file = join(dir, "run.json");
      const text = serializeRunFile(staleRace().run);
      await writeFile(file, text);
      const script = `import("./src/cli/view.ts").then((m) => m.viewCommand(${JSON.stringify(file)}, {})).then((c) => { process.exitCode = c; });`;
      const child = spawn(process.execPath, ["--import", "tsx", "-e", script], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((done) => {
        child.on("exit", done);
      });
      const url = await new Promise<string>((done, fail) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?run=\/run\.json/.exec(out);
          if (m !== null) done(m[0]);
        });
        child.on("exit", () => {
          fail(new Error(`view exited before printing its URL: ${stderr}`));
        });
      });
      const served = await fetch(new URL("/run.json", url));
      assert.equal(await served.text(), text);
      assert.equal((await fetch(url)).status, 200);
      child.kill("SIGINT");
      assert.equal(await exited, 0, stderr);
    });
  },
);
