/**
 * `npm test`'s first step (package.json `pretest`): makes sure the browser the browser
 * tests drive is installed (fixtures/provisionChromium.ts). Always exits 0: a machine it
 * cannot provision still runs the suite, whose browser tests then fail saying why.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { CHROMIUM } from "./fixtures/chromium.ts";
import { provisionChromium } from "./fixtures/provisionChromium.ts";

const hasApt = spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;

provisionChromium({
  chromium: CHROMIUM,
  exists: existsSync,
  isRoot: process.getuid?.() === 0,
  hasApt,
  apt: (args) =>
    spawnSync("apt-get", args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status ?? 1,
  say: (line) => {
    console.error(line);
  },
});
