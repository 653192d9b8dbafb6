/**
 * Builds the web viewer (web/ -> web/dist) with Vite, from code rather than the shell,
 * so `odpsim view` and the browser test can build it when it is missing.
 *
 * Models no kernel file. Vite is loaded only when a build is needed: viewing a run with
 * a built viewer, and every other command, never pay for it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** web/ in the source tree (two levels up from src/output or dist/output). */
export const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));
export const DEFAULT_VIEWER_DIST = join(WEB_DIR, "dist");

/** Whether `dist` holds a built viewer. */
export function viewerBuilt(dist: string = DEFAULT_VIEWER_DIST): boolean {
  return existsSync(join(dist, "index.html"));
}

/** Runs the viewer's Vite build into `outDir` (default web/dist). */
export async function buildViewer(outDir: string = DEFAULT_VIEWER_DIST): Promise<void> {
  const { build } = await import("vite");
  await build({
    configFile: join(WEB_DIR, "vite.config.ts"),
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
}
