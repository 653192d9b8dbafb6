/**
 * Vite build of the viewer: `npm run build:web` (or `odpsim view` when web/dist is
 * missing) bundles web/ into web/dist with relative asset paths, so any static server
 * can serve it from any path.
 *
 * Models no kernel file. Preact's JSX goes through Vite's own transform (no plugin):
 * automatic runtime, imported from `preact`.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "./",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
