/**
 * `npm run bench`: every benchmark in its own process, on Node-RED 4.1 / this Node and on Node-RED 5 /
 * Node 22 (`--nr4` or `--nr5` for one of them), then one table of the goals from their JSON results
 * (bench/results/*-<nr4|nr5>.json, git-ignored), also written as bench/results/summary.json. What a
 * benchmark needs and this machine lacks is said first; that benchmark is then "not run (missing X)".
 * The soak (BENCH_SOAK_JOBS jobs, 200 by default: a few minutes) runs after the others.
 * P9 (idle, 5 minutes of real time by default) runs beside the others: an idle process neither
 * disturbs them nor is disturbed in a way its CPU seconds would show beyond noise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { detectTools, fmt, spread, table, type GoalRow, type Verdict } from "./harness";
import { NODE22, NODE_RED5, RESULTS } from "./proc";

const HELP = `The benchmarks, each in its own process, then one table of the goals (npm run bench -- [options]).

  --nr4        only on Node-RED 4.1 / this Node
  --nr5        only on Node-RED 5 / Node 22
  --summary    no run: the table from the results already in bench/results/
  -h, --help   this help`;
let args: { nr4: boolean; nr5: boolean; summary: boolean; help: boolean };
try {
  args = parseArgs({
    options: {
      nr4: { type: "boolean", default: false },
      nr5: { type: "boolean", default: false },
      summary: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  console.error(`${(err as Error).message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const wanted = args.nr4 && !args.nr5 ? ["nr4"] : args.nr5 && !args.nr4 ? ["nr5"] : ["nr4", "nr5"];
const tools = detectTools(fs.existsSync, NODE22);
const nr5Ok = fs.existsSync(NODE22) && fs.existsSync(path.join(NODE_RED5, "package.json"));
const has = (name: string) => tools.find((t) => t.name === name)?.found ?? false;

const missing = tools.filter((t) => !t.found || (t.name.startsWith("node 22") && !nr5Ok));
if (missing.length) {
  console.log('Missing (the benchmarks that need it are marked "not run"):');
  for (const t of missing) console.log(`  ${t.name.padEnd(20)} for ${t.for.padEnd(30)} get it with: ${t.hint}`);
} else console.log("curl, aria2c, /usr/bin/time and Node 22 + Node-RED 5 found.");

interface Bench {
  script: string;
  needs: string[];
  /** Result files it writes without a runtime tag, copied to <name>-<tag>.json after it ran. */
  untagged?: string[];
}
const BENCHES: Bench[] = [
  { script: "p1-bench.js", needs: ["curl", "/usr/bin/time"] },
  { script: "adaptive-bench.js", needs: ["aria2c"], untagged: ["adaptive"] },
  { script: "p3-bench.js", needs: [] },
  { script: "p7-bench.js", needs: [] },
  { script: "walk.js", needs: [], untagged: ["walk"] },
  { script: "watch-bench.js", needs: [], untagged: ["watch"] },
  { script: "soak-bench.js", needs: [] },
];

const notRun: Record<string, Record<string, string>> = { nr4: {}, nr5: {} };

function runtimeOf(tag: string): { exec: string; env: Record<string, string> } {
  return tag === "nr5" ? { exec: NODE22, env: { BENCH_TAG: "nr5", PUTIO_TEST_NODE_RED: NODE_RED5 } } : { exec: process.execPath, env: { BENCH_TAG: "nr4" } };
}

function start(tag: string, script: string, stdio: "inherit" | "pipe"): ChildProcess {
  const { exec, env } = runtimeOf(tag);
  return spawn(exec, [path.join(__dirname, script)], { env: { ...process.env, ...env }, stdio: ["ignore", stdio, stdio] });
}

const exited = (p: ChildProcess) => new Promise<number>((resolve) => p.on("exit", (code) => resolve(code ?? 1)));

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS, { recursive: true });
  // --summary: only the table, from the results already there.
  if (args.summary) return summary(wanted);
  const tags = wanted.filter((tag) => {
    if (tag === "nr5" && !nr5Ok) {
      notRun.nr5["*"] = "missing node 22 + Node-RED 5";
      return false;
    }
    return true;
  });
  // P9 for every runtime at once, in the background; its output is printed when it is done.
  const idle = tags.map((tag) => {
    const p = start(tag, "p9-bench.js", "pipe");
    let out = "";
    p.stdout!.on("data", (d) => (out += d));
    p.stderr!.on("data", (d) => (out += d));
    return { tag, done: exited(p).then((code) => ({ code, out })) };
  });
  for (const tag of tags) {
    console.log(`\n===== ${tag === "nr5" ? "Node-RED 5 / Node 22" : `Node-RED 4.1 / Node ${process.versions.node}`} =====`);
    for (const b of BENCHES) {
      if (!fs.existsSync(path.join(__dirname, b.script))) {
        notRun[tag][b.script] = "not built";
        continue;
      }
      const lacking = b.needs.filter((n) => !has(n));
      if (lacking.length) {
        notRun[tag][b.script] = `missing ${lacking.join(", ")}`;
        console.log(`${b.script}: not run (missing ${lacking.join(", ")})`);
        continue;
      }
      const code = await exited(start(tag, b.script, "inherit"));
      if (code !== 0) {
        notRun[tag][b.script] = `failed (exit ${code})`;
        console.error(`${b.script} failed (exit ${code})`);
      }
      for (const u of b.untagged ?? []) {
        const from = path.join(RESULTS, `${u}.json`);
        if (code === 0 && fs.existsSync(from)) fs.copyFileSync(from, path.join(RESULTS, `${u}-${tag}.json`));
      }
    }
  }
  for (const i of idle) {
    const { code, out } = await i.done;
    process.stdout.write(`\n[${i.tag}] ${out}`);
    if (code !== 0) notRun[i.tag]["p9-bench.js"] = `failed (exit ${code})`;
  }
  summary(wanted);
}

function summary(tags: string[]): void {
  const rows = tags.flatMap((tag) => rowsFor(tag));
  const machine = `${os.availableParallelism?.() ?? os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`;
  console.log(`\nSummary (median of runs, spread = min–max; ${machine})`);
  console.log(table(rows));
  fs.writeFileSync(path.join(RESULTS, "summary.json"), JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2));
}

function read(name: string, tag: string): any {
  try {
    return JSON.parse(fs.readFileSync(path.join(RESULTS, `${name}-${tag}.json`), "utf8"));
  } catch {
    return null;
  }
}

const verdict = (ok: boolean): Verdict => (ok ? "met" : "missed");

/** The goal rows of one runtime; a benchmark that did not run gives its rows as "not run (why)". */
function rowsFor(tag: string): GoalRow[] {
  const runtime = tag === "nr5" ? "NR5/Node22" : `NR4.1/Node${process.versions.node.split(".")[0]}`;
  const why = (script: string): Verdict | null => {
    const w = notRun[tag]["*"] ?? notRun[tag][script];
    return w ? `not run (${w})` : null;
  };
  const rows: GoalRow[] = [];
  const row = (goal: string, target: string, script: string, data: any, fill: (d: any) => Omit<GoalRow, "goal" | "target" | "runtime">) => {
    const skipped = why(script);
    if (skipped || !data) rows.push({ goal, target, runtime, measured: "", spread: "", verdict: skipped ?? "not run (no result)" });
    else rows.push({ goal, target, runtime, ...fill(data) });
  };
  const p1 = read("p1", tag);
  for (const level of ["library", "node"] as const) {
    const name = level === "library" ? "engine" : "deployed node";
    row(`P1 1 GiB speed vs curl, ${name}`, "≥ 0.95×", "p1-bench.js", p1?.[level], (d) => ({
      measured: `${fmt(d.speedRatio)}× (${fmt(d.ours.mibPerS.median, 0)} vs ${fmt(d.curl.mibPerS.median, 0)} MiB/s)`,
      spread: `ours ${spread(d.ours.mibPerS, 0)}, curl ${spread(d.curl.mibPerS, 0)}`,
      verdict: verdict(d.speedRatio >= 0.95),
    }));
    row(`P1 CPU s/GiB vs curl, ${name}`, "≤ 1.0×", "p1-bench.js", p1?.[level], (d) => ({
      measured: `${fmt(d.cpuRatio)}× (${fmt(d.ours.cpuSPerGiB.median)} vs ${fmt(d.curl.cpuSPerGiB.median)} s)`,
      spread: `ours ${spread(d.ours.cpuSPerGiB)}, curl ${spread(d.curl.cpuSPerGiB)}`,
      verdict: verdict(d.cpuRatio <= 1.0),
    }));
  }
  const p2 = read("adaptive", tag)?.P2;
  row("P2 adaptive connections vs best aria2c, an account's first file", "≥ 1.0× and ≥ 0.9× link", "adaptive-bench.js", p2, (d) => ({
    measured: `${fmt(d.vsBestAria2, 3)}× best aria2c, ${fmt(d.vsLinkCap, 3)}× link cap, ${d.connectionsOpened} connections`,
    spread: d.ours ? `ours ${spread(d.ours, 1)} MiB/s` : "",
    verdict: verdict(!!d.met),
  }));
  row("P2 adaptive connections vs best aria2c, the account's next file", "≥ 1.0× and ≥ 0.9× link", "adaptive-bench.js", p2?.nextFile, (d) => ({
    measured: `${fmt(d.vsBestAria2, 3)}× best aria2c, ${fmt(d.vsLinkCap, 3)}× link cap, ${d.connectionsOpened} connections`,
    spread: `ours ${spread(d.ours, 1)} MiB/s`,
    verdict: verdict(!!d.met),
  }));
  row("P3 peak RSS above idle, 4 × 1 GiB", "< 50 MiB", "p3-bench.js", read("p3", tag), (d) => ({
    measured: `${fmt(d.aboveIdleMiB.median, 1)} MiB (idle ${fmt(d.idleMiB.median, 0)})`,
    spread: spread(d.aboveIdleMiB, 1),
    verdict: verdict(d.aboveIdleMiB.median < 50),
  }));
  const p7 = read("p7", tag);
  for (const s of p7?.scenarios ?? [null]) {
    row(`P7 flagship flow${s ? `, ${s.jobs} jobs × ${s.files} files` : ""}`, "≤ 4/file + 1/job", "p7-bench.js", s, (d) => ({
      measured: `${d.requests} requests (${fmt(d.perFile)}/file, bound ${d.bound}); 10 s poller ${d.poller10s.requests}`,
      spread: "(a count)",
      verdict: verdict(d.met),
    }));
  }
  row("P9 idle flow, CPU per hour", "< 2 s", "p9-bench.js", read("p9", tag), (d) => ({
    measured: `${fmt(d.cpuPerHourS)} s/h (empty flow ${fmt(d.emptyFlowCpuPerHourS)}), ${fmt(d.requestsPerHour, 0)} requests/h`,
    spread: `one ${fmt(d.windowS, 0)} s window`,
    verdict: verdict(d.met),
  }));
  const w = read("watch", tag);
  row("P4 completion → msg, socket", "< 1000 ms", "watch-bench.js", w?.P4, (d) => ({
    measured: `${fmt(d.socket.median, 0)} ms (p95 ${fmt(d.socket.p95, 0)})`,
    spread: spread(d.socket, 0),
    verdict: verdict(d.socket.met),
  }));
  row("P5 requests per idle hour (watch)", "≤ 15", "watch-bench.js", w?.P5, (d) => ({
    measured: `${d.requestsPerIdleHour} (+${d.startupRequests} at start)`,
    spread: "(a count)",
    verdict: verdict(d.met),
  }));
  const soak = read("soak", tag);
  row("Soak data on the heap per job (V8's compiled program aside)", "≤ 0.1 KiB/job", "soak-bench.js", soak, (d) => ({
    measured:
      `${fmt(d.census?.dataKiBPerJob, 3)} KiB/job over ${d.census ? d.census.toJobs - d.census.fromJobs : 0} jobs ` +
      `(heap after GC ${fmt(d.figures.heap.slopeKiBPerJob, 1)} ± ${fmt(d.figures.heap.seKiBPerJob, 1)}; RSS ${fmt(d.figures.rss.slopeKiBPerJob, 1)} KiB/job)`,
    spread: "two heap snapshots",
    verdict: verdict(d.goals.heapSlope.met),
  }));
  row("Soak CPU per job, last third vs first", "flat (≤ 1.1×)", "soak-bench.js", soak, (d) => ({
    measured: `${fmt(d.figures.cpu.firstThirdMsPerJob, 0)} → ${fmt(d.figures.cpu.lastThirdMsPerJob, 0)} ms/job (×${fmt(d.figures.cpu.ratio)})`,
    spread: `${d.failures} failed jobs`,
    verdict: verdict(d.goals.cpuFlat.met),
  }));
  row("Soak open fds, first vs last", "flat", "soak-bench.js", soak, (d) => ({
    measured: `${d.figures.fds.first} → ${d.figures.fds.last}`,
    spread: `${d.figures.fds.min}–${d.figures.fds.max}`,
    verdict: verdict(d.goals.fdsFlat.met),
  }));
  row("P6 walk 20,000 files / 200 folders", "≤ bound requests", "walk.js", read("walk", tag), (d) => ({
    measured: `${d.requests} requests (bound ${d.bound}), ${fmt(d.ms.median, 0)} ms`,
    spread: `${spread(d.ms, 0)} ms`,
    verdict: verdict(d.goalMet),
  }));
  return rows;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
