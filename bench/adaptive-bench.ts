/**
 * Adaptive connections (node dist/bench/adaptive-bench.js): storage with a link cap L shared by all
 * connections and a per-connection cap of L/8. Our engine with the connection setting untouched
 * ("auto") against `aria2c -x4 -s4` and `aria2c -x16 -s16`, interleaved (ours, x4, x16, ours, …);
 * "ours" is an account's first file and then its next one (which starts at the count that settled),
 * BENCH_RUNS rounds (default 7). Then the same storage taking only 4 connections at once: how many
 * ours held and how many the storage had to refuse. The emulator runs in its own process, so its
 * CPU is not counted in ours. Results: a table on stdout and bench/results/adaptive.json.
 * BENCH_LINK_MIBS sets L (default 32), BENCH_SECONDS the time one run takes at L (default 10),
 * BENCH_FIXED=n a fixed count for ours instead of auto.
 */
import { execFile, fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { DownloadScheduler } from "../lib/download";
import { summarize } from "./stats";

const MiB = 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const LINK_MIBS = Number(process.env.BENCH_LINK_MIBS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LINK = LINK_MIBS * MiB;
const SIZE = Math.round(LINK * SECONDS);
/** BENCH_FIXED=n runs ours with n connections instead of auto (to see what the search costs). */
const FIXED = Number(process.env.BENCH_FIXED ?? 0) || null;
/** The storage of the second case takes this many connections at once. */
const SERVER_MAX = 4;

interface EmuInfo {
  apiUrl: string;
  token: string;
  fileId: number;
}

interface StorageCounts {
  peak: number;
  refused: number;
}

type Msg = { knob: string; value: unknown } | { stats: "reset" | "get" };

async function emulatorRole(): Promise<void> {
  const { startEmulator } = await import("../test/emulator");
  const { storageStats } = await import("../test/emulator/storage");
  const emu = await startEmulator();
  const fileId = emu.state.addFile(0, "adaptive.bin", { size: SIZE, seed: 19 }).id;
  emu.state.getFile(fileId); // the advertised CRC, computed before any run
  const stats = storageStats(emu.knobs);
  process.on("message", (m: Msg) => {
    if ("knob" in m) (emu.knobs as unknown as Record<string, unknown>)[m.knob] = m.value;
    else if (m.stats === "reset") {
      stats.peak = 0;
      stats.refused = 0;
    }
    process.send!({ peak: stats.peak, refused: stats.refused } satisfies StorageCounts);
  });
  process.send!({ apiUrl: emu.apiUrl, token: emu.token, fileId } satisfies EmuInfo);
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

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const brief = (s: { median: number; min: number; max: number }) => ({ median: round(s.median), min: round(s.min), max: round(s.max) });

async function main(): Promise<void> {
  if (process.env.BENCH_ROLE === "emulator") return emulatorRole();
  const emuProc: ChildProcess = fork(__filename, [], { env: { ...process.env, BENCH_ROLE: "emulator" } });
  const info = await new Promise<EmuInfo>((resolve) => emuProc.once("message", (m) => resolve(m as EmuInfo)));
  const tell = (m: Msg) =>
    new Promise<StorageCounts>((resolve) => {
      emuProc.once("message", (r) => resolve(r as StorageCounts));
      emuProc.send(m);
    });
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_TMP ?? (fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()), "putio-adaptive-"));
  const client = new PutioClient({ token: info.token, apiUrl: info.apiUrl });
  const mibs = (t: number) => SIZE / MiB / t;
  /**
   * Our engine with every limit on its default: connections "auto". A scheduler is what an account
   * node holds: its first file searches for the count, a later file starts at the count that settled.
   */
  const newScheduler = () => new DownloadScheduler(client, FIXED ? { connectionsPerFile: FIXED } : {});
  const ours = async (s: DownloadScheduler): Promise<{ rate: number; counts: StorageCounts }> => {
    await tell({ stats: "reset" });
    try {
      const t = await timed(async () => {
        const r = await s.run({ source: { fileId: info.fileId }, target: dir });
        if (r.downloaded !== 1) throw new Error(`download failed: ${r.errors[0]?.error.message}`);
      });
      return { rate: mibs(t), counts: await tell({ stats: "get" }) };
    } finally {
      clean(dir);
    }
  };
  /** The account's first file (a new scheduler), then its next one. */
  const oursTwice = async () => {
    const s = newScheduler();
    try {
      return { first: await ours(s), next: await ours(s) };
    } finally {
      await s.close();
    }
  };
  const aria = async (n: number): Promise<number> => {
    const u = await client.files.downloadUrl(info.fileId);
    const t = await timed(() => run("aria2c", ["-q", `-x${n}`, `-s${n}`, "--allow-overwrite=true", "--file-allocation=none", "-d", dir, "-o", "aria.bin", u]));
    clean(dir);
    return mibs(t);
  };

  const oursR: number[] = [];
  const oursConns: number[] = [];
  const nextR: number[] = [];
  const nextConns: number[] = [];
  const limitedNextR: number[] = [];
  const limitedNextRefused: number[] = [];
  const x4: number[] = [];
  const x16: number[] = [];
  const limitedR: number[] = [];
  const limitedPeak: number[] = [];
  const limitedRefused: number[] = [];
  try {
    await tell({ knob: "storageLinkBytesPerSec", value: LINK });
    await tell({ knob: "bandwidthPerConnection", value: LINK / 8 });
    for (let i = 0; i < RUNS; i++) {
      const { first: o, next } = await oursTwice();
      oursR.push(o.rate);
      oursConns.push(o.counts.peak);
      nextR.push(next.rate);
      nextConns.push(next.counts.peak);
      x4.push(await aria(4));
      x16.push(await aria(16));
      console.log(
        `round ${i + 1}: ours ${o.rate.toFixed(1)} (${o.counts.peak} conns), next file ${next.rate.toFixed(1)} (${next.counts.peak}), ` +
          `x4 ${x4[i]!.toFixed(1)}, x16 ${x16[i]!.toFixed(1)} MiB/s`,
      );
    }
    await tell({ knob: "storageMaxConnections", value: SERVER_MAX });
    for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
      const { first: o, next } = await oursTwice();
      limitedR.push(o.rate);
      limitedPeak.push(o.counts.peak);
      limitedRefused.push(o.counts.refused);
      limitedNextR.push(next.rate);
      limitedNextRefused.push(next.counts.refused);
      console.log(
        `max ${SERVER_MAX} round ${i + 1}: ours ${o.rate.toFixed(1)} MiB/s, ${o.counts.peak} conns, ${o.counts.refused} refused; ` +
          `next file ${next.rate.toFixed(1)} MiB/s, ${next.counts.refused} refused`,
      );
    }
  } finally {
    await client.close();
    emuProc.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const o = summarize(oursR);
  const a4 = summarize(x4);
  const a16 = summarize(x16);
  const vsLinkCap = o.median / LINK_MIBS;
  const vsBestAria2 = o.median / Math.max(a4.median, a16.median);
  const connectionsOpened = summarize(oursConns).median;
  const n = summarize(nextR);
  const nextVsLink = n.median / LINK_MIBS;
  const nextVsBestAria2 = n.median / Math.max(a4.median, a16.median);
  const P2 = {
    linkCapMiBs: LINK_MIBS,
    ours: brief(o),
    aria2x4: brief(a4),
    aria2x16: brief(a16),
    vsLinkCap: round(vsLinkCap, 3),
    vsBestAria2: round(vsBestAria2, 3),
    connectionsOpened,
    met: vsLinkCap >= 0.9 && vsBestAria2 >= 1.0,
    nextFile: {
      ours: brief(n),
      vsLinkCap: round(nextVsLink, 3),
      vsBestAria2: round(nextVsBestAria2, 3),
      connectionsOpened: summarize(nextConns).median,
      met: nextVsLink >= 0.9 && nextVsBestAria2 >= 1.0,
    },
  };
  const limited = {
    serverMaxConnections: SERVER_MAX,
    ours: brief(summarize(limitedR)),
    vsServerCap: round(summarize(limitedR).median / ((SERVER_MAX * LINK_MIBS) / 8), 3),
    peakConnections: Math.max(...limitedPeak),
    refused: { median: summarize(limitedRefused).median, max: Math.max(...limitedRefused) },
    nextFile: { ours: brief(summarize(limitedNextR)), refusedMax: Math.max(...limitedNextRefused) },
  };
  const machine = {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    runs: RUNS,
    sizeMiB: SIZE / MiB,
  };
  const f = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  console.log(
    `machine: ${machine.nproc} cores, ${machine.cpu}, node ${machine.node}; link ${LINK_MIBS} MiB/s, ${LINK_MIBS / 8} per connection; median (min–max) of ${RUNS}`,
  );
  console.table({
    "ours auto (MiB/s)": {
      value: f(o),
      note: `${vsLinkCap.toFixed(2)}× link (≥ 0.9), ${vsBestAria2.toFixed(2)}× best aria2c (≥ 1.0), ${connectionsOpened} connections`,
    },
    "ours auto, the account's next file (MiB/s)": {
      value: f(n),
      note: `${nextVsLink.toFixed(2)}× link, ${nextVsBestAria2.toFixed(2)}× best aria2c, ${P2.nextFile.connectionsOpened} connections`,
    },
    "aria2c -x4 -s4 (MiB/s)": { value: f(a4) },
    "aria2c -x16 -s16 (MiB/s)": { value: f(a16) },
    [`ours, storage takes ${SERVER_MAX} (MiB/s)`]: {
      value: f(limited.ours),
      note: `${limited.vsServerCap.toFixed(2)}× what ${SERVER_MAX} carry, ≤ ${limited.peakConnections} held, ${limited.refused.max} refused at most`,
    },
    [`ours, storage takes ${SERVER_MAX}, next file (MiB/s)`]: {
      value: f(limited.nextFile.ours),
      note: `${limited.nextFile.refusedMax} refused at most`,
    },
  });
  const resultsDir = path.join(__dirname, "..", "..", "bench", "results");
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, "adaptive.json"), JSON.stringify({ P2, P2serverMax4: limited, machine }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
