/**
 * `npm run bench`: every benchmark in its own process, then one table of the goals of issues 6
 * and 9 from their JSON results (bench/results/*.json, git-ignored), also written as summary.json.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const RESULTS = path.join(__dirname, "..", "..", "bench", "results");
for (const name of ["walk", "watch-bench", "download-bench"]) {
  const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`)], { stdio: "inherit" });
  if (r.status !== 0) console.error(`${name} failed (exit ${r.status})`);
}
const read = (f: string) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(RESULTS, f), "utf8"));
  } catch {
    return null;
  }
};
const d = read("download.json");
const w = read("watch.json");
const k = read("walk.json");
const rows: Array<[string, string, string, string]> = [];
const fx = (n: number | undefined, digits = 2) => (typeof n === "number" ? n.toFixed(digits) : "n/a");
if (d?.P1) rows.push(["P1 single stream vs curl (1 GiB)", `${fx(d.P1.ratio)}×`, "≥ 0.95×", d.P1.ratio >= 0.95 ? "met" : "missed"]);
if (d?.P2)
  rows.push([
    "P2 segmented vs aria2c -x4 -s4",
    `${fx(d.P2.vsAria2c ?? d.P2.ratioAria2c ?? d.P2.segmented?.median / d.P2.aria2c?.median)}×`,
    "≥ 1.0×",
    (d.P2.vsAria2c ?? d.P2.segmented?.median / d.P2.aria2c?.median) >= 1 ? "met" : "missed",
  ]);
if (d?.P2)
  rows.push([
    "P2 segmented vs our single stream",
    `${fx(d.P2.vsSingle ?? d.P2.segmented?.median / d.P2.single?.median)}×`,
    "≥ 3.5×",
    (d.P2.vsSingle ?? d.P2.segmented?.median / d.P2.single?.median) >= 3.5 ? "met" : "missed",
  ]);
if (d?.P3)
  rows.push([
    "P3 peak RSS above idle, 4 × 1 GiB",
    `${fx(d.P3.aboveIdleMiB?.median ?? d.P3.median, 1)} MiB`,
    "< 100 MiB",
    (d.P3.aboveIdleMiB?.median ?? d.P3.median) < 100 ? "met" : "missed",
  ]);
if (w)
  rows.push([
    "P4 completion → msg, socket (median)",
    `${fx(w.P4.socket.median, 0)} ms (p95 ${fx(w.P4.socket.p95, 0)})`,
    "< 1000 ms",
    w.P4.socket.met ? "met" : "missed",
  ]);
if (w) rows.push(["P4 completion → msg, polling 10 s (median)", `${fx(w.P4.polling.median, 0)} ms (p95 ${fx(w.P4.polling.p95, 0)})`, "(comparison)", ""]);
if (w) rows.push(["P5 requests per idle hour", String(w.P5.requestsPerIdleHour), "≤ 15", w.P5.met ? "met" : "missed"]);
if (k)
  rows.push([
    `P6 walk ${k.files} files in ${k.folders} folders`,
    `${k.requests} requests, ${fx(k.ms.median, 0)} ms`,
    `≤ ${k.bound} requests`,
    k.goalMet ? "met" : "missed",
  ]);
const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}`;
console.log(`\nSummary (median of runs; ${machine})`);
for (const [a, b, c, e] of rows) console.log(`${a.padEnd(46)} ${b.padEnd(26)} ${c.padEnd(16)} ${e}`);
fs.writeFileSync(path.join(RESULTS, "summary.json"), JSON.stringify({ machine, rows }, null, 2));
