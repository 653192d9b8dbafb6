/**
 * A one-node Slurm cluster on this machine, for the cluster test: munged, slurmctld and
 * slurmd from Debian's munge and slurm-wlm, each in the foreground under this process,
 * with their own key, socket, ports, state and logs in a temporary directory, so
 * nothing of the machine's own Slurm or munge (if any) is used or touched.
 *
 * Plugins are the ones that need no cgroups or database (proctrack/linuxproc,
 * task/none, no accounting), so the cluster starts inside a container as root.
 * Every wait has a deadline; `stop` cancels what is queued and ends the daemons it
 * started, by their pids.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface SlurmCluster {
  readonly dir: string;
  /** The environment Slurm's commands (sbatch, squeue, ...) need to reach this cluster. */
  readonly env: NodeJS.ProcessEnv;
  /** Every daemon's log, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

const DAEMONS = ["munged", "slurmctld", "slurmd"] as const;

/** Fails with `message` and every log there is. */
export class SlurmStartError extends Error {}

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

function slurmConf(dir: string, node: string, ports: readonly [number, number]): string {
  return [
    "ClusterName=odpsimtest",
    `SlurmctldHost=${node}(127.0.0.1)`,
    `SlurmctldPort=${ports[0]}`,
    `SlurmdPort=${ports[1]}`,
    "SlurmUser=root",
    "SlurmdUser=root",
    "AuthType=auth/munge",
    "CredType=cred/munge",
    `AuthInfo=socket=${join(dir, "munge.sock")}`,
    `StateSaveLocation=${join(dir, "state")}`,
    `SlurmdSpoolDir=${join(dir, "spool")}`,
    `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
    `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
    `SlurmctldLogFile=${join(dir, "slurmctld.log")}`,
    `SlurmdLogFile=${join(dir, "slurmd.log")}`,
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    "JobCompType=jobcomp/none",
    "MpiDefault=none",
    "SchedulerType=sched/builtin",
    // The merge job waits on the array: look for runnable jobs every second, not every minute.
    "SchedulerParameters=sched_interval=1",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_CPU",
    "ReturnToService=2",
    "MessageTimeout=10",
    `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus().length} State=UNKNOWN`,
    "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
    "",
  ].join("\n");
}

/** Where the tools are, or a one-line reason they are not. */
function missingTools(): string | null {
  const tools = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"];
  const paths = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  const missing = tools.filter((t) => !paths.some((p) => existsSync(join(p, t))));
  return missing.length === 0
    ? null
    : `not installed: ${missing.join(", ")} (apt-get install slurm-wlm munge; .ci/ensure-slurm.sh does)`;
}

/** Runs a Slurm client command; its stdout, or throws with its stderr. */
export function slurmCommand(
  cluster: Pick<SlurmCluster, "env">,
  args: readonly string[],
  timeoutMs = 30_000,
): string {
  const [cmd, ...rest] = args;
  const r = spawnSync(cmd as string, rest, {
    env: cluster.env,
    encoding: "utf8",
    timeout: timeoutMs,
  });
  if (r.status !== 0) {
    throw new Error(
      `${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr}${r.error?.message ?? ""}`,
    );
  }
  return r.stdout;
}

/** Starts the cluster in `dir` (empty); resolves once its node is idle. */
export async function startSlurm(dir: string, deadlineMs = 30_000): Promise<SlurmCluster> {
  const missing = missingTools();
  if (missing !== null) throw new SlurmStartError(`Slurm cannot start: ${missing}`);
  for (const sub of ["state", "spool"]) mkdirSync(join(dir, sub));
  const node = hostname().split(".")[0] ?? "localhost";
  const conf = join(dir, "slurm.conf");
  writeFileSync(conf, slurmConf(dir, node, [await freePort(), await freePort()]));
  const env = { ...process.env, SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const logs = () =>
    DAEMONS.flatMap((d) => [`${d}.out`, `${d}.log`].map((f) => join(dir, f)).filter(existsSync))
      .map((f) => `--- ${f}\n${readFileSync(f, "utf8").split("\n").slice(-40).join("\n")}`)
      .join("\n");
  const daemon = (name: string, args: string[]) => {
    const out = openSync(join(dir, `${name}.out`), "w");
    const child = spawn(name, args, { env, stdio: ["ignore", out, out] });
    child.on("error", () => undefined);
    children.push(child);
  };
  const cluster: SlurmCluster = {
    dir,
    env,
    logs,
    stop: () => stopAll(cluster, children),
  };
  try {
    const key = join(dir, "munge.key");
    slurmCommand(cluster, ["mungekey", "--create", `--keyfile=${key}`]);
    daemon("munged", [
      "--foreground",
      "--force",
      `--socket=${join(dir, "munge.sock")}`,
      `--key-file=${key}`,
      `--log-file=${join(dir, "munged.log")}`,
      `--pid-file=${join(dir, "munged.pid")}`,
      `--seed-file=${join(dir, "munged.seed")}`,
    ]);
    await until(() => existsSync(join(dir, "munge.sock")), deadlineMs, "munged made no socket");
    daemon("slurmctld", ["-D", "-f", conf]);
    daemon("slurmd", ["-D", "-f", conf, "-N", node]);
    await until(() => nodeState(cluster) === "idle", deadlineMs, "the node never became idle");
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw new SlurmStartError(`Slurm cannot start: ${(error as Error).message}\n${logs()}`);
  }
}

function nodeState(cluster: SlurmCluster): string {
  try {
    return slurmCommand(cluster, ["sinfo", "-h", "-o", "%T"], 5_000).trim();
  } catch {
    return "";
  }
}

/**
 * No job pending or running (false when squeue cannot say). A job whose script has ended
 * may show as completing for many seconds more while slurmd reports back; it runs
 * nothing, so it does not count.
 */
export function queueEmpty(cluster: Pick<SlurmCluster, "env">): boolean {
  const active = ["-t", "PENDING,CONFIGURING,RUNNING,SUSPENDED"];
  try {
    return slurmCommand(cluster, ["squeue", "-h", ...active, "-o", "%i"], 5_000).trim() === "";
  } catch {
    return false;
  }
}

/** Polls `ready` every 200 ms until it holds; throws `what` past the deadline. */
export async function until(ready: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`${what} within ${deadlineMs / 1000} s`);
    await sleep(200);
  }
}

/** Cancels every job, then ends the daemons (TERM, then KILL after 5 s). */
async function stopAll(cluster: SlurmCluster, children: readonly ChildProcess[]): Promise<void> {
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  if (children.some((c) => c.spawnfile === "slurmctld" && alive(c))) {
    spawnSync("scancel", ["--user=root"], { env: cluster.env, timeout: 5_000 });
    // Let slurmd end the cancelled jobs' steps before it goes.
    await until(() => queueEmpty(cluster), 10_000, "").catch(() => undefined);
  }
  for (const child of [...children].reverse()) {
    if (!alive(child)) continue;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const done = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
    if (!done) child.kill("SIGKILL");
  }
}
