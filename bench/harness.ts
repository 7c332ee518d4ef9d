/**
 * The pure parts of the benchmark harness (no I/O, tested in test/bench-harness.spec.ts): run order,
 * figures from measured times and CPU, tool detection, the goals table.
 */
import { summarize, type Summary } from "./stats";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** One measured run of one side: wall seconds and the CPU seconds that side spent (user + system). */
export interface RunSample {
  wallS: number;
  userS: number;
  sysS: number;
  /** CPU the process spends when idle over the same wall time, subtracted from user + sys. */
  idleCpuS?: number;
}

/**
 * The order of the runs: every round runs each side once (ours, curl, ours, curl …), so a slow phase
 * of a busy machine falls on both sides instead of on the one that happened to run then.
 */
export function interleave<S extends string>(sides: readonly S[], runs: number): Array<{ side: S; run: number }> {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runs}`);
  const out: Array<{ side: S; run: number }> = [];
  for (let run = 0; run < runs; run++) for (const side of sides) out.push({ side, run });
  return out;
}

/** Runs per side: BENCH_RUNS, else 7 (the figures in the README); fewer only while developing. */
export function runsFrom(env: Record<string, string | undefined>, fallback = 7): number {
  const n = Math.floor(Number(env.BENCH_RUNS ?? fallback));
  return Number.isFinite(n) && n >= 1 ? n : fallback;
}

export function mibPerS(bytes: number, wallS: number): number {
  return bytes / MiB / wallS;
}

/** CPU seconds per GiB moved: (user + sys − idle) scaled from `bytes` to 1 GiB; never below 0. */
export function cpuPerGiB(s: RunSample, bytes: number): number {
  if (bytes <= 0) throw new Error("bytes must be > 0");
  return (Math.max(0, s.userS + s.sysS - (s.idleCpuS ?? 0)) * GiB) / bytes;
}

export interface SideFigures {
  mibPerS: Summary;
  cpuSPerGiB: Summary;
  wallS: Summary;
}

export function sideFigures(samples: RunSample[], bytes: number): SideFigures {
  return {
    mibPerS: summarize(samples.map((s) => mibPerS(bytes, s.wallS))),
    cpuSPerGiB: summarize(samples.map((s) => cpuPerGiB(s, bytes))),
    wallS: summarize(samples.map((s) => s.wallS)),
  };
}

/**
 * Ours against a reference measured in the same run: speed ratio of the medians (≥ 1 is faster) and
 * CPU ratio of the medians (≤ 1 is cheaper).
 */
export function compare(ours: SideFigures, ref: SideFigures): { speed: number; cpu: number } {
  return { speed: ours.mibPerS.median / ref.mibPerS.median, cpu: ours.cpuSPerGiB.median / ref.cpuSPerGiB.median };
}

/** `/usr/bin/time -f "%e %U %S %M"` output (its last line): wall, user, sys seconds and max RSS KiB. */
export function parseTimeOutput(text: string): RunSample & { maxRssKiB: number } {
  const lines = text.trim().split("\n");
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(lines[lines.length - 1]?.trim() ?? "");
  if (!m) throw new Error(`unexpected /usr/bin/time output: ${JSON.stringify(text.slice(-200))}`);
  return { wallS: Number(m[1]), userS: Number(m[2]), sysS: Number(m[3]), maxRssKiB: Number(m[4]) };
}

/** utime + stime (fields 14 and 15, clock ticks) of a /proc/<pid>/stat line, in seconds. */
export function parseProcStatCpu(stat: string, ticksPerS = 100): number {
  // The command name (field 2) may hold spaces and parentheses: fields count from the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error("unreadable /proc stat line");
  return (utime + stime) / ticksPerS;
}

/** A kB field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes. */
export function parseStatusKb(status: string, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!m) throw new Error(`no ${field} in /proc status`);
  return Number(m[1]) * 1024;
}

export interface Tool {
  name: string;
  /** What the tool is needed for. */
  for: string;
  /** How to get it. */
  hint: string;
  found: boolean;
}

/** Which of the tools the benchmarks use are missing, given a test for each path. */
export function detectTools(exists: (p: string) => boolean, node22: string): Tool[] {
  const onPath = (bin: string) => ["/usr/bin", "/usr/local/bin", "/bin"].some((d) => exists(`${d}/${bin}`));
  return [
    { name: "curl", for: "P1 (the reference)", hint: "npm run setup (apt-get install curl)", found: onPath("curl") },
    { name: "aria2c", for: "P2 (the reference)", hint: "npm run setup (apt-get install aria2)", found: onPath("aria2c") },
    { name: "/usr/bin/time", for: "P1 (curl's CPU seconds)", hint: "npm run setup (apt-get install time)", found: exists("/usr/bin/time") },
    { name: "node 22 + Node-RED 5", for: "every figure on Node-RED 5", hint: "npm run setup (.sandbox/tools)", found: exists(node22) },
  ];
}

export type Verdict = "met" | "missed" | `not run (${string})`;

export interface GoalRow {
  goal: string;
  target: string;
  measured: string;
  spread: string;
  verdict: Verdict;
  /** Which runtime measured it: "Node-RED 4 / Node 20" etc. */
  runtime: string;
}

export const fmt = (n: number | undefined | null, digits = 2): string => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "n/a");
export const spread = (s: Summary | undefined, digits = 2): string => (s ? `${fmt(s.min, digits)}–${fmt(s.max, digits)}` : "");

export function table(rows: GoalRow[]): string {
  const cols: Array<keyof GoalRow> = ["goal", "runtime", "target", "measured", "spread", "verdict"];
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]))
      .join("  ")
      .trimEnd();
  return [line(cols), line(w.map((n) => "-".repeat(n))), ...rows.map((r) => line(cols.map((c) => r[c])))].join("\n");
}
