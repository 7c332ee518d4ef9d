/**
 * P3, peak memory while 4 × 1 GiB download at once (node dist/bench/p3-bench.js): a deployed
 * putio-download node (4 files at once, its default 4 connections per file) in a fresh Node-RED
 * process per run, given a put.io folder of four 1 GiB files. Idle = the process's RSS after the flow
 * is deployed, settled and garbage-collected; peak = the kernel's high-water mark (VmHWM, reset to
 * the idle RSS just before the msg, through /proc/<pid>/clear_refs) and the highest VmRSS sampled
 * every 20 ms from outside, whichever is higher. The emulator runs in its own process.
 * Writes bench/results/p3-<tag>.json.
 */
import fs from "node:fs";
import { fmt, MiB } from "./harness";
import { deployDownloadNode, procPeakRss, procRss, resetPeakRss, RUNTIME, scratchDir, sleep, startChild, writeResult, type EmuInfo } from "./proc";
import { summarize } from "./stats";

const RUNS = Number(process.env.BENCH_P3_RUNS ?? 3);
const SIZE = Number(process.env.BENCH_P3_MIB ?? 1024) * MiB;

async function main(): Promise<void> {
  const emu = await startChild("emu-host.js");
  const info = await emu.call<EmuInfo>("start", {});
  const folder = await emu.call<number>("addFolder", { parent: 0, name: "p3" });
  for (let i = 0; i < 4; i++) await emu.call("addFile", { parent: folder, name: `gib${i}.bin`, size: SIZE, seed: 300 + i });
  const dir = scratchDir("putio-p3-");
  const above: number[] = [];
  const idles: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const host = await startChild("nr-host.js", {}, process.execPath, ["--expose-gc"]);
      const pid = host.proc.pid!;
      try {
        await deployDownloadNode(host, info, dir, { filesAtOnce: "4" });
        await sleep(2000);
        await host.call("gc");
        await sleep(500);
        const idle = procRss(pid);
        resetPeakRss(pid);
        let sampled = idle;
        const timer = setInterval(() => (sampled = Math.max(sampled, procRss(pid))), 20);
        await host.call("receive", { nodeId: "dl", msg: { payload: folder } });
        await host.call("waitFor", { outId: "out", topic: "putio/download/done", n: 1 });
        clearInterval(timer);
        const done = (await host.call<Array<{ downloaded?: number }>>("messages", "out")).find((m) => m.downloaded !== undefined);
        if (done?.downloaded !== 4) throw new Error(`expected 4 files downloaded, got ${JSON.stringify(done)}`);
        const peak = Math.max(sampled, procPeakRss(pid));
        idles.push(idle / MiB);
        above.push((peak - idle) / MiB);
        console.log(`  P3 run ${run + 1}: idle ${fmt(idle / MiB, 1)} MiB, peak ${fmt(peak / MiB, 1)} MiB, above idle ${fmt((peak - idle) / MiB, 1)} MiB`);
        await host.call("stop");
      } finally {
        await host.close();
        for (const f of fs.readdirSync(dir)) fs.rmSync(`${dir}/${f}`, { recursive: true, force: true });
      }
    }
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const s = summarize(above);
  console.log(
    `P3 peak RSS above idle Node-RED, 4 × ${SIZE / MiB} MiB at once (${RUNTIME}): ${fmt(s.median, 1)} MiB (${fmt(s.min, 1)}–${fmt(s.max, 1)}), goal < 50`,
  );
  writeResult("p3", { sizeBytes: SIZE, runs: RUNS, aboveIdleMiB: s, idleMiB: summarize(idles), met: s.median < 50 });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
