/**
 * Download benchmarks (node dist/bench/download-bench.js):
 *  P1 single-stream 1 GiB over loopback: our engine vs curl.
 *  P2 per-connection-capped storage: our segmented download vs aria2c -x4 -s4 vs our single stream.
 *  P3 peak RSS above idle of a process downloading 4 × 1 GiB at once.
 * The emulator runs in its own process so it does not share our event loop. Each figure is the
 * median of RUNS runs, with min and max. Results: a table on stdout and bench/results/download.json.
 */
import { execFile, fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { DownloadScheduler, type DownloadLimits } from "../lib/download";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Per-connection cap for P2: low enough that the network, not the CPU, is the limit. */
const P2_CAP = 12 * MiB;
const P2_SIZE = 192 * MiB;
/** Run only some parts: BENCH_ONLY=P1,P3 */
const ONLY = (process.env.BENCH_ONLY ?? "P1,P2,P3").split(",");

interface EmuInfo {
  apiUrl: string;
  token: string;
  files: Record<string, number>;
}

// ---------- child roles ----------

async function emulatorRole(): Promise<void> {
  const { startEmulator } = await import("../test/emulator");
  const emu = await startEmulator();
  const files: Record<string, number> = {};
  for (let i = 0; i < 4; i++) files[`gib${i}`] = emu.state.addFile(0, `gib${i}.bin`, { size: GiB, seed: 100 + i }).id;
  files.p2 = emu.state.addFile(0, "p2.bin", { size: P2_SIZE, seed: 7 }).id;
  // Warm the advertised CRCs so no request pays for them.
  for (const id of Object.values(files)) emu.state.getFile(id);
  process.on("message", (m: { knob: string; value: unknown }) => {
    (emu.knobs as unknown as Record<string, unknown>)[m.knob] = m.value;
    process.send!({ ok: true });
  });
  process.send!({ apiUrl: emu.apiUrl, token: emu.token, files } satisfies EmuInfo);
}

async function rssRole(): Promise<void> {
  const info = JSON.parse(process.env.BENCH_EMU!) as EmuInfo;
  const dir = process.env.BENCH_DIR!;
  global.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const client = new PutioClient({ token: info.token, apiUrl: info.apiUrl });
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const s = new DownloadScheduler(client, { filesAtOnce: 4 });
  await Promise.all([0, 1, 2, 3].map((i) => s.run({ source: { fileId: info.files[`gib${i}`] }, target: dir })));
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  await client.close();
  process.send!({ idle, peak });
}

// ---------- helpers ----------

function stats(values: number[]): { median: number; min: number; max: number; runs: number[] } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: values };
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 1 << 20 }, (err, _o, e) => (err ? reject(new Error(`${cmd}: ${err.message} ${e}`)) : resolve())),
  );
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function clean(dir: string): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.env.BENCH_ROLE === "emulator") return emulatorRole();
  if (process.env.BENCH_ROLE === "rss") return rssRole();

  const self = __filename;
  const emuProc: ChildProcess = fork(self, [], { env: { ...process.env, BENCH_ROLE: "emulator" } });
  const info = await new Promise<EmuInfo>((resolve) => emuProc.once("message", (m) => resolve(m as EmuInfo)));
  const knob = (name: string, value: unknown) =>
    new Promise<void>((resolve) => {
      emuProc.once("message", () => resolve());
      emuProc.send({ knob: name, value });
    });
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_TMP ?? (fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()), "putio-bench-"));
  const client = new PutioClient({ token: info.token, apiUrl: info.apiUrl });
  const ours = async (fileId: number, limits: Partial<DownloadLimits>) => {
    const s = new DownloadScheduler(client, limits);
    const r = await s.run({ source: { fileId }, target: dir });
    if (r.downloaded !== 1) throw new Error(`download failed: ${r.errors[0]?.error.message}`);
  };
  const url = (fileId: number) => client.files.downloadUrl(fileId);
  const results: Record<string, unknown> = {};
  try {
    // P1: one stream, 1 GiB, unthrottled loopback.
    if (ONLY.includes("P1")) {
      const curlT: number[] = [];
      const oursT: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const u = await url(info.files.gib0);
        curlT.push(await timed(() => run("curl", ["-s", "-f", "-o", path.join(dir, "curl.bin"), u])));
        clean(dir);
        oursT.push(await timed(() => ours(info.files.gib0, { segmentThreshold: Number.MAX_SAFE_INTEGER })));
        clean(dir);
      }
      const p1 = { curl: stats(curlT.map((t) => GiB / MiB / t)), ours: stats(oursT.map((t) => GiB / MiB / t)) };
      results.P1 = { unit: "MiB/s", ...p1, ratio: p1.ours.median / p1.curl.median, goal: ">= 0.95" };
    }

    // P2: every storage connection capped; parallel ranges should multiply throughput.
    if (ONLY.includes("P2")) {
      await knob("bandwidthPerConnection", P2_CAP);
      const seg: number[] = [];
      const aria: number[] = [];
      const single: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        seg.push(await timed(() => ours(info.files.p2, { segmentThreshold: 64 * MiB, connectionsPerFile: 4 })));
        clean(dir);
        const u = await url(info.files.p2);
        aria.push(await timed(() => run("aria2c", ["-q", "-x4", "-s4", "--allow-overwrite=true", "--file-allocation=none", "-d", dir, "-o", "aria.bin", u])));
        clean(dir);
        single.push(await timed(() => ours(info.files.p2, { segmentThreshold: Number.MAX_SAFE_INTEGER })));
        clean(dir);
      }
      await knob("bandwidthPerConnection", null);
      const mbps = (ts: number[]) => stats(ts.map((t) => P2_SIZE / MiB / t));
      const p2 = { segmented: mbps(seg), aria2c: mbps(aria), single: mbps(single) };
      results.P2 = {
        unit: "MiB/s",
        capPerConnection: P2_CAP,
        size: P2_SIZE,
        ...p2,
        ratioVsAria2c: p2.segmented.median / p2.aria2c.median,
        ratioVsSingle: p2.segmented.median / p2.single.median,
        goal: ">= 1.0 vs aria2c, >= 3.5 vs single",
      };
    }

    // P3: peak RSS above idle while 4 × 1 GiB download at once (in a fresh process).
    if (ONLY.includes("P3")) {
      const rss: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const child = fork(self, [], { env: { ...process.env, BENCH_ROLE: "rss", BENCH_EMU: JSON.stringify(info), BENCH_DIR: dir } });
        const m = await new Promise<{ idle: number; peak: number }>((resolve, reject) => {
          child.once("message", (msg) => resolve(msg as { idle: number; peak: number }));
          child.once("exit", (code) => code && reject(new Error(`rss child exited ${code}`)));
        });
        child.kill();
        rss.push((m.peak - m.idle) / MiB);
        clean(dir);
      }
      results.P3 = { unit: "MiB above idle RSS", ...stats(rss), goal: "< 100" };
    }
  } finally {
    await client.close();
    emuProc.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const cpu = os.cpus()[0]?.model ?? "unknown";
  const machine = { nproc: os.availableParallelism?.() ?? os.cpus().length, cpu, node: process.version, runs: RUNS };
  const out = { machine, ...results };
  const f = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  const none = { median: NaN, min: NaN, max: NaN, runs: [] };
  const P1 = (results.P1 ?? { curl: none, ours: none, ratio: NaN }) as { curl: ReturnType<typeof stats>; ours: ReturnType<typeof stats>; ratio: number };
  const P2 = (results.P2 ?? { segmented: none, aria2c: none, single: none, ratioVsAria2c: NaN, ratioVsSingle: NaN }) as {
    segmented: ReturnType<typeof stats>;
    aria2c: ReturnType<typeof stats>;
    single: ReturnType<typeof stats>;
    ratioVsAria2c: number;
    ratioVsSingle: number;
  };
  const P3 = (results.P3 ?? none) as ReturnType<typeof stats>;
  console.log(`machine: ${machine.nproc} cores, ${cpu}, node ${machine.node}; median (min–max) of ${RUNS} runs`);
  console.table({
    "P1 curl, 1 GiB (MiB/s)": { value: f(P1.curl) },
    "P1 ours single (MiB/s)": { value: f(P1.ours), ratio: `${P1.ratio.toFixed(2)}× curl (goal ≥ 0.95)` },
    "P2 ours segmented x4 (MiB/s)": {
      value: f(P2.segmented),
      ratio: `${P2.ratioVsAria2c.toFixed(2)}× aria2c (≥ 1.0), ${P2.ratioVsSingle.toFixed(2)}× single (≥ 3.5)`,
    },
    "P2 aria2c -x4 -s4 (MiB/s)": { value: f(P2.aria2c) },
    "P2 ours single (MiB/s)": { value: f(P2.single) },
    "P3 peak RSS 4×1 GiB (MiB)": { value: f(P3), ratio: "goal < 100" },
  });
  const resultsDir = path.join(__dirname, "..", "..", "bench", "results");
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, "download.json"), JSON.stringify(out, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
