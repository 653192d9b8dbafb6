#!/usr/bin/env -S node --single-threaded-gc
// The odpsim command: runs the TypeScript sources through tsx's loader.
// --single-threaded-gc: V8 scavenges on the main thread. The explorer allocates many
// short-lived objects; on 2 cores this ran one worker 5-13% and two workers 13-19% faster
// (npm run bench -- --filter explore.schedules, side by side; see README, Benchmarks).
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
