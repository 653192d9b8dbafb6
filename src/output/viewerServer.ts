/**
 * A small static server for the viewer: the built viewer's files, plus one run file at
 * /run.json, on the loopback interface only.
 *
 * Models no kernel file. node:http is enough for one user on 127.0.0.1; nothing outside
 * the viewer's folder is ever served (paths are resolved and checked against it).
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";

export const RUN_PATH = "/run.json";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json; charset=utf-8",
};

export interface ViewerServerOptions {
  /** The built viewer (web/dist). */
  readonly distDir: string;
  /** The run file's text, served at /run.json. */
  readonly runJson: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
}

export interface ViewerServer {
  readonly port: number;
  /** The page that loads the run: `http://127.0.0.1:PORT/?run=/run.json`. */
  readonly url: string;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const root = resolve(options.distDir);
  const server = createServer((req, res) => {
    serve(root, options.runJson, req, res).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      send(res, 500, "text/plain; charset=utf-8", `internal error: ${why}\n`);
    });
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", fail);
      done();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${HOST}:${port}/?run=${RUN_PATH}`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => {
          if (error === undefined) done();
          else fail(error);
        });
        server.closeAllConnections();
      }),
  };
}

async function serve(
  root: string,
  runJson: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    return;
  }
  const path = new URL(req.url ?? "/", `http://${HOST}`).pathname;
  if (path === RUN_PATH) {
    send(res, 200, TYPES[".json"] ?? "", runJson, req.method === "HEAD");
    return;
  }
  const file = inside(root, path === "/" ? "/index.html" : path);
  if (file === null) {
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  send(res, 200, TYPES[extname(file)] ?? "application/octet-stream", body, req.method === "HEAD");
}

/** The file `urlPath` names under `root`, or null if it would leave `root`. */
function inside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const file = resolve(join(root, normalize(decoded)));
  return file.startsWith(root + sep) ? file : null;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headOnly = false,
): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(headOnly ? undefined : body);
}
