/**
 * P6: requests and time to walk 20,000 files in 200 folders (node dist/bench/walk.js).
 * Goal: at most one request per 1,000 files per folder, plus one per folder. The request count is
 * the emulator's own log; times are the median (min–max) of RUNS walks. Two libraries (even and
 * uneven folder sizes), each walked with no added latency and with LATENCY_MS per request (what a
 * distant API adds). Writes bench/results/walk.json (git-ignored).
 */
import fs from "node:fs";
import path from "node:path";
import { PutioClient } from "../lib/client";
import { walk } from "../lib/domains/walk";
import { startEmulator } from "../test/emulator";
import { summarize, type Summary } from "./stats";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const FOLDERS = 200;

interface Scenario {
  name: string;
  /** Files in each of the 200 folders (sums to 20,000). */
  sizes: number[];
}

const SCENARIOS: Scenario[] = [
  { name: "even (200 × 100)", sizes: Array.from({ length: FOLDERS }, () => 100) },
  // Uneven like a real library: most folders small, a few over two pages. 4 × 2,550 + 196 × 50 = 20,000.
  { name: "uneven (4 × 2,550 + 196 × 50)", sizes: Array.from({ length: FOLDERS }, (_, f) => (f % 50 === 0 ? 2_550 : 50)) },
];

interface Row {
  scenario: string;
  latencyMs: number;
  files: number;
  folders: number;
  seen: number;
  requests: number;
  listRequests: number;
  continueRequests: number;
  bound: number;
  goalMet: boolean;
  ms: Summary;
}

async function measure(s: Scenario, latencyMs: number): Promise<Row> {
  const emu = await startEmulator();
  const top = emu.state.addFolder(0, "Library");
  s.sizes.forEach((n, f) => {
    const folder = emu.state.addFolder(top.id, `Folder ${f}`);
    for (let i = 0; i < n; i++) emu.state.addFile(folder.id, `file ${i}.mkv`, Buffer.from(`${f}/${i}`));
  });
  const files = s.sizes.reduce((a, b) => a + b, 0);
  // The walked folder itself (1 request: it holds 200 folders) plus, per folder, 1 + 1 per 1,000 files.
  const bound = 1 + s.sizes.reduce((sum, n) => sum + 1 + Math.floor(n / 1000), 0);
  const client = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token });
  emu.knobs.latencyMs = latencyMs;
  const times: number[] = [];
  let log: typeof emu.requests = [];
  let seen = 0;
  for (let r = 0; r < RUNS; r++) {
    const before = emu.requests.length;
    const t0 = process.hrtime.bigint();
    seen = 0;
    for await (const _ of walk(client.files, top.id)) seen++;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    log = emu.requests.slice(before);
  }
  await client.close();
  await emu.close();
  const continueRequests = log.filter((r) => r.path.endsWith("/continue")).length;
  return {
    scenario: s.name,
    latencyMs,
    files,
    folders: FOLDERS + 1,
    seen,
    requests: log.length,
    listRequests: log.length - continueRequests,
    continueRequests,
    bound,
    goalMet: log.length <= bound && seen === files,
    ms: summarize(times),
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const s of SCENARIOS) for (const latency of [0, LATENCY_MS]) rows.push(await measure(s, latency));
  const cols = ["library", "latency", "files", "folders", "requests (list+continue)", "bound", "goal", "time median (min–max)"];
  const cells = rows.map((r) => [
    r.scenario,
    `${r.latencyMs} ms`,
    String(r.seen),
    String(r.folders),
    `${r.requests} (${r.listRequests}+${r.continueRequests})`,
    `≤ ${r.bound}`,
    r.goalMet ? "met" : "MISSED",
    `${Math.round(r.ms.median)} ms (${Math.round(r.ms.min)}–${Math.round(r.ms.max)})`,
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(`P6 walk, ${RUNS} runs each`);
  console.log(line(cols));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of cells) console.log(line(row));
  // Top-level fields: the uneven library without added latency (what `npm run bench` summarises).
  const headline = rows.find((r) => r.scenario.startsWith("uneven") && r.latencyMs === 0)!;
  const out = path.join(__dirname, "..", "..", "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "walk.json"), JSON.stringify({ ...headline, runs: RUNS, rows }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
