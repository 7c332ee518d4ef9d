/**
 * P6: requests and time to walk 20,000 files in 200 folders (node dist/bench/walk-bench.js).
 * Goal: at most one request per 1,000 files per folder, plus one per folder. The count is the
 * emulator's own request log; the time is the median of RUNS walks.
 */
import fs from "node:fs";
import path from "node:path";
import { PutioClient } from "../lib/client";
import { walk } from "../lib/walk";
import { startEmulator } from "../test/emulator";
import { summarize } from "./stats";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function main(): Promise<void> {
  const emu = await startEmulator();
  const top = emu.state.addFolder(0, "Library");
  const perFolder: number[] = [];
  for (let f = 0; f < 200; f++) {
    const folder = emu.state.addFolder(top.id, `Folder ${f}`);
    // Uneven like a real library: most folders small, a few with more than one page.
    const n = f % 50 === 0 ? 2_550 : 50; // 4 × 2,550 + 196 × 50 = 20,000
    for (let i = 0; i < n; i++) emu.state.addFile(folder.id, `file ${i}.mkv`, Buffer.from(`${f}/${i}`));
    perFolder.push(n);
  }
  const files = perFolder.reduce((a, b) => a + b, 0);
  const bound = 1 + perFolder.reduce((sum, n) => sum + 1 + Math.floor(n / 1000), 0);
  const client = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token });
  const times: number[] = [];
  let requests = 0;
  let seen = 0;
  for (let r = 0; r < RUNS; r++) {
    const before = emu.requests.length;
    const t0 = process.hrtime.bigint();
    seen = 0;
    for await (const _ of walk(client.files, top.id)) seen++;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    requests = emu.requests.length - before;
  }
  await client.close();
  await emu.close();
  const result = { files, folders: 201, seen, requests, bound, goalMet: requests <= bound && seen === files, ms: summarize(times) };
  console.log("P6 walk of %d files in %d folders", files, 201);
  console.log("  requests: %d (goal ≤ %d: %s)", requests, bound, result.goalMet ? "met" : "MISSED");
  console.log("  time: median %d ms (min %d, max %d) over %d runs", Math.round(result.ms.median), Math.round(result.ms.min), Math.round(result.ms.max), RUNS);
  fs.mkdirSync(path.join(__dirname, "..", "..", "bench", "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "..", "..", "bench", "results", "walk.json"), JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
