/**
 * P1, one stream, 1 GiB over loopback, ours against curl (node dist/bench/p1-bench.js):
 *  - library: our engine (DownloadScheduler) in a child process;
 *  - node: a deployed putio-download node in a real Node-RED (child process), its API calls included.
 * Each in the order ours, curl, ours, curl … (BENCH_RUNS each, 7 by default) after one unmeasured
 * warm-up run of each side. The emulator runs in a third process. Per side: wall MiB/s and CPU
 * seconds (user + sys) per GiB — curl's from the kernel's rusage through /usr/bin/time, ours from
 * process.cpuUsage() of its process minus what the same process spends idle over the same time.
 * Writes bench/results/p1-<tag>.json.
 */
import fs from "node:fs";
import path from "node:path";
import { PutioClient } from "../lib/client";
import { compare, fmt, interleave, MiB, runsFrom, sideFigures, type RunSample } from "./harness";
import { deployDownloadNode, emptyDir, RUNTIME, type EmuInfo, scratchDir, startChild, timeChild, writeResult } from "./proc";

const RUNS = runsFrom(process.env);
const SIZE = Number(process.env.BENCH_P1_MIB ?? 1024) * MiB;
const ONLY = (process.env.BENCH_P1 ?? "library,node").split(",");

type Sampler = () => Promise<RunSample>;

async function duel(label: string, ours: Sampler, curl: Sampler, dir: string) {
  await ours();
  emptyDir(dir);
  await curl();
  emptyDir(dir);
  const samples: Record<"ours" | "curl", RunSample[]> = { ours: [], curl: [] };
  for (const { side } of interleave(["ours", "curl"] as const, RUNS)) {
    samples[side].push(await (side === "ours" ? ours : curl)());
    emptyDir(dir);
  }
  const o = sideFigures(samples.ours, SIZE);
  const c = sideFigures(samples.curl, SIZE);
  const r = compare(o, c);
  const line = (name: string, f: typeof o) =>
    `  ${name.padEnd(6)} ${fmt(f.mibPerS.median, 0)} MiB/s (${fmt(f.mibPerS.min, 0)}–${fmt(f.mibPerS.max, 0)}), ` +
    `${fmt(f.cpuSPerGiB.median, 3)} CPU s/GiB (${fmt(f.cpuSPerGiB.min, 3)}–${fmt(f.cpuSPerGiB.max, 3)})`;
  console.log(`P1 ${label}, ${SIZE / MiB} MiB, ${RUNS} interleaved runs each (${RUNTIME})`);
  console.log(line("ours", o));
  console.log(line("curl", c));
  console.log(`  speed ${fmt(r.speed)}× curl (goal ≥ 0.95), CPU ${fmt(r.cpu)}× curl (goal ≤ 1.0)`);
  return { ours: o, curl: c, speedRatio: r.speed, cpuRatio: r.cpu, met: r.speed >= 0.95 && r.cpu <= 1.0, samples };
}

async function main(): Promise<void> {
  const emu = await startChild("emu-host.js");
  const info = await emu.call<EmuInfo>("start", {});
  const fileId = await emu.call<number>("addFile", { parent: 0, name: "p1.bin", size: SIZE, seed: 101 });
  const client = new PutioClient({ token: info.token, apiUrl: info.apiUrl });
  const dir = scratchDir("putio-p1-");
  const curl: Sampler = async () => {
    const url = await client.files.downloadUrl(fileId);
    const s = await timeChild("curl", ["-s", "-f", "-o", path.join(dir, "curl.bin"), url]);
    if (fs.statSync(path.join(dir, "curl.bin")).size !== SIZE) throw new Error("curl: short file");
    return s;
  };
  const out: Record<string, unknown> = { sizeBytes: SIZE, runs: RUNS };
  try {
    if (ONLY.includes("library")) {
      const host = await startChild("engine-host.js");
      try {
        out.library = await duel("library (engine in its own process)", () => host.call("download", { ...info, fileId, dir }), curl, dir);
      } finally {
        await host.close();
      }
    }
    if (ONLY.includes("node")) {
      const host = await startChild("nr-host.js");
      try {
        await deployDownloadNode(host, info, dir, { connections: "1" });
        const ours: Sampler = async () => {
          const r = await host.call("measure", { nodeId: "dl", msg: { payload: fileId }, outId: "out", topic: "putio/download/done" });
          if (r.last?.downloaded !== 1) throw new Error(`download node: ${JSON.stringify(r.last)}`);
          return r;
        };
        out.node = await duel("node (deployed putio-download, API calls included)", ours, curl, dir);
        await host.call("stop");
      } finally {
        await host.close();
      }
    }
  } finally {
    await client.close();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  writeResult("p1", out);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
