/**
 * `odpsim view FILE [--port N]`: serves the web viewer and one run file on 127.0.0.1,
 * prints the URL, and runs until interrupted or until the process that started it is gone.
 *
 * Models no kernel file. The run file is validated first (exists, is JSON, version 1):
 * a bad one is one clear line on stderr and exit code 2. The viewer is built on first
 * use when web/dist is missing.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { RunFileError, parseRunFileText } from "../output/runFileSchema.ts";
import { DEFAULT_VIEWER_DIST, buildViewer, viewerBuilt } from "../output/viewerBuild.ts";
import { startViewerServer } from "../output/viewerServer.ts";
import { EXIT_OK, EXIT_USAGE } from "./exitCodes.ts";

export interface ViewOptions {
  /** 0 or absent: any free port. */
  readonly port?: number;
  /** Also open the URL in the desktop's browser. */
  readonly open?: boolean;
}

/** Where the command writes; the defaults are stdout and stderr. */
export interface ViewIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves when the server should stop; default: SIGINT or SIGTERM. */
  readonly stopped?: Promise<unknown>;
}

const defaultIo: ViewIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Runs `odpsim view`; resolves to the exit code once the server has stopped. */
export async function viewCommand(
  file: string,
  opts: ViewOptions,
  io: ViewIo = defaultIo,
): Promise<number> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err(`odpsim: --port must be an integer in [0, 65535], got ${String(opts.port)}`);
    return EXIT_USAGE;
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    io.err(`odpsim: cannot read ${file}: ${code === "ENOENT" ? "no such file" : code}`);
    return EXIT_USAGE;
  }
  try {
    parseRunFileText(text);
  } catch (error) {
    if (!(error instanceof RunFileError)) throw error;
    io.err(`odpsim: ${file}: ${error.message}`);
    return EXIT_USAGE;
  }
  if (!viewerBuilt()) {
    io.err("odpsim: building the viewer (web/dist is missing)…");
    await buildViewer();
  }
  let server;
  try {
    server = await startViewerServer({ distDir: DEFAULT_VIEWER_DIST, runJson: text, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    io.err(`odpsim: cannot listen on 127.0.0.1:${port}: ${code}`);
    return EXIT_USAGE;
  }
  io.out(server.url);
  if (opts.open === true) openInBrowser(server.url);
  await (io.stopped ?? interrupted());
  await server.close();
  return EXIT_OK;
}

/** How often `odpsim view` looks whether the process that started it is still there. */
const PARENT_POLL_MS = 500;

/**
 * Resolves when the server should stop: on SIGINT, SIGTERM or SIGHUP, or when the process
 * that started this one is gone. A wrapper (npx, a test, an editor's task) killed with
 * SIGKILL or SIGTERM does not pass the signal on; its child, reparented, would serve on
 * forever, so a changed parent pid stops it too.
 */
function interrupted(): Promise<void> {
  return new Promise((done) => {
    const parent = process.ppid;
    const poll = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, PARENT_POLL_MS);
    const stop = () => {
      clearInterval(poll);
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      done();
    };
    for (const signal of STOP_SIGNALS) process.on(signal, stop);
  });
}

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Best effort: the platform's opener, detached; a failure only loses the convenience. */
function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  const child = spawn(command, args, { detached: true, stdio: "ignore" });
  child.on("error", () => undefined);
  child.unref();
}
