/** The soak benchmark's arithmetic (pure): samples over jobs → slopes and per-job figures. */

export interface SoakSample {
  /** Jobs done when the sample was taken. */
  jobs: number;
  /** Seconds since the flow was deployed. */
  atS: number;
  /** V8 heap in use after forced full GCs (KiB). */
  heapKiB: number;
  /**
   * Of it, compiled code (V8's code spaces): it grows while V8 compiles and optimizes more of the
   * program as the jobs exercise it, up to a bound set by the program, not by the jobs done.
   */
  codeKiB: number;
  /** Off-heap memory V8 accounts for (Buffers…), after the same GCs (KiB). */
  externalKiB: number;
  rssKiB: number;
  fds: number;
  /** CPU seconds (user + sys) of the Node-RED process before this sample's forced GCs, and after them. */
  cpuS: number;
  cpuAfterGcS: number;
}

export interface Fit {
  /** Change per job. */
  slope: number;
  /** Standard error of the slope (0 with fewer than 3 points). */
  se: number;
  intercept: number;
  n: number;
}

/** Least-squares line y = intercept + slope·x, with the slope's standard error. */
export function fitLine(xs: number[], ys: number[]): Fit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: 0, se: 0, intercept: ys[0] ?? 0, n };
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return { slope: 0, se: 0, intercept: my, n };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  const se = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : 0;
  return { slope, se, intercept, n };
}

export interface Window {
  fromJobs: number;
  toJobs: number;
  /** CPU of the Node-RED process per job in this window (ms), the forced GCs left out. */
  cpuMsPerJob: number;
  wallSPerJob: number;
}

/** CPU per job between consecutive samples (the forced GCs of the earlier sample are not work). */
export function windows(samples: SoakSample[]): Window[] {
  const out: Window[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const jobs = b.jobs - a.jobs;
    if (jobs <= 0) continue;
    out.push({ fromJobs: a.jobs, toJobs: b.jobs, cpuMsPerJob: ((b.cpuS - a.cpuAfterGcS) * 1000) / jobs, wallSPerJob: (b.atS - a.atS) / jobs });
  }
  return out;
}

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

export interface SoakFigures {
  warmupJobs: number;
  jobs: number;
  samples: number;
  heap: { slopeKiBPerJob: number; seKiBPerJob: number; firstKiB: number; lastKiB: number };
  /** The heap without compiled code: what the jobs' data keeps. */
  objects: { slopeKiBPerJob: number; seKiBPerJob: number; firstKiB: number; lastKiB: number };
  code: { slopeKiBPerJob: number; seKiBPerJob: number };
  external: { slopeKiBPerJob: number; seKiBPerJob: number };
  rss: { slopeKiBPerJob: number; seKiBPerJob: number; firstKiB: number; lastKiB: number };
  fds: { min: number; max: number; first: number; last: number; slopePerJob: number };
  cpu: { firstThirdMsPerJob: number; lastThirdMsPerJob: number; ratio: number; slopeMsPerJobPer100Jobs: number; seMsPerJobPer100Jobs: number };
}

/**
 * The figures after warm-up (samples with fewer jobs than `warmupJobs` are left out); memory only
 * from samples after `memoryAfterJobs` (a heap snapshot taken there raises RSS and the heap once).
 */
export function soakFigures(all: SoakSample[], warmupJobs: number, memoryAfterJobs = warmupJobs - 1): SoakFigures {
  const s = all.filter((x) => x.jobs >= warmupJobs);
  const m = s.filter((x) => x.jobs > memoryAfterJobs);
  const jobs = m.map((x) => x.jobs);
  const heap = fitLine(
    jobs,
    m.map((x) => x.heapKiB),
  );
  const objects = fitLine(
    jobs,
    m.map((x) => x.heapKiB - x.codeKiB),
  );
  const code = fitLine(
    jobs,
    m.map((x) => x.codeKiB),
  );
  const ext = fitLine(
    jobs,
    m.map((x) => x.externalKiB),
  );
  const rss = fitLine(
    jobs,
    m.map((x) => x.rssKiB),
  );
  const fds = fitLine(
    jobs,
    m.map((x) => x.fds),
  );
  const w = windows(s);
  const third = Math.max(1, Math.floor(w.length / 3));
  const first = mean(w.slice(0, third).map((x) => x.cpuMsPerJob));
  const last = mean(w.slice(-third).map((x) => x.cpuMsPerJob));
  const cpu = fitLine(
    w.map((x) => (x.fromJobs + x.toJobs) / 2),
    w.map((x) => x.cpuMsPerJob),
  );
  return {
    warmupJobs,
    jobs: (s[s.length - 1]?.jobs ?? 0) - (s[0]?.jobs ?? 0),
    samples: s.length,
    heap: { slopeKiBPerJob: heap.slope, seKiBPerJob: heap.se, firstKiB: m[0]?.heapKiB ?? 0, lastKiB: m[m.length - 1]?.heapKiB ?? 0 },
    objects: {
      slopeKiBPerJob: objects.slope,
      seKiBPerJob: objects.se,
      firstKiB: (m[0]?.heapKiB ?? 0) - (m[0]?.codeKiB ?? 0),
      lastKiB: (m[m.length - 1]?.heapKiB ?? 0) - (m[m.length - 1]?.codeKiB ?? 0),
    },
    code: { slopeKiBPerJob: code.slope, seKiBPerJob: code.se },
    external: { slopeKiBPerJob: ext.slope, seKiBPerJob: ext.se },
    rss: { slopeKiBPerJob: rss.slope, seKiBPerJob: rss.se, firstKiB: m[0]?.rssKiB ?? 0, lastKiB: m[m.length - 1]?.rssKiB ?? 0 },
    fds: {
      min: Math.min(...s.map((x) => x.fds)),
      max: Math.max(...s.map((x) => x.fds)),
      first: s[0]?.fds ?? 0,
      last: s[s.length - 1]?.fds ?? 0,
      slopePerJob: fds.slope,
    },
    cpu: {
      firstThirdMsPerJob: first,
      lastThirdMsPerJob: last,
      ratio: last / first,
      slopeMsPerJobPer100Jobs: cpu.slope * 100,
      seMsPerJobPer100Jobs: cpu.se * 100,
    },
  };
}
