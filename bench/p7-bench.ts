/**
 * P7, put.io requests of the flagship flow per downloaded file (node dist/bench/p7-bench.js): the
 * sandbox's flow (scripts/sandbox-flow.ts: watch /Incoming → download, delete after verify, remove
 * the transfer) deployed in a real Node-RED, the emulator (realtime clock, its own process) as
 * put.io. Jobs arrive one every JOB_GAP_S seconds, each a transfer of FILES files; the count is the
 * emulator's request log from the moment the deployed flow has settled until every job's done msg,
 * storage bodies (/download/…) left out. Beside it, what a 10 s poller spends for the same work
 * over the same time: one GET /v2/transfers/list per 10 s plus the same file calls (it reads each
 * status from the list, so the watch's re-read of a pushed transfer is not among them).
 * Writes bench/results/p7-<tag>.json.
 */
import { starterFlow } from "../scripts/sandbox-flow";
import { fmt, MiB } from "./harness";
import { RUNTIME, scratchDir, sleep, startChild, writeResult, type Rpc } from "./proc";
import fs from "node:fs";

const JOB_GAP_S = Number(process.env.BENCH_P7_GAP_S ?? 2);
const SCENARIOS = (process.env.BENCH_P7 ?? "4x1,3x4").split(",").map((s) => {
  const [jobs, files] = s.split("x").map(Number);
  return { jobs, files };
});
const magnet = (n: number) => `magnet:?xt=urn:btih:${(0x7000 + n).toString(16).padStart(40, "0")}&dn=p7-${n}`;

/** Requests by "METHOD /path" with ids as :id. */
function byRoute(log: Array<{ method: string; path: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of log) {
    const k = `${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, "/:id")}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

async function settled(emu: Rpc, quietMs = 1500): Promise<number> {
  let last = -1;
  for (;;) {
    const n = await emu.call<number>("requestCount");
    if (n === last) return n;
    last = n;
    await sleep(quietMs);
  }
}

async function scenario(jobs: number, files: number) {
  const emu = await startChild("emu-host.js");
  const info = await emu.call<{ apiUrl: string; uploadUrl: string; socketUrl: string; token: string }>("start", { realtimeClock: true });
  const incoming = await emu.call<number>("addFolder", { parent: 0, name: "Incoming" });
  const dir = scratchDir("putio-p7-");
  const env: Record<string, string> = {
    PUTIO_API_URL: info.apiUrl,
    PUTIO_UPLOAD_URL: info.uploadUrl,
    PUTIO_SOCKET_URL: info.socketUrl,
    PUTIO_WEB_URL: info.apiUrl,
    NAS_DIR: dir,
  };
  // The flagship part of the sandbox's flow as it is: account, watch, download (its wires to a helper).
  const keep = new Set(["putio-account", "putio-transfer-watch", "putio-download"]);
  const flow = starterFlow()
    .filter((n) => keep.has(String(n.type)))
    .map((n) => {
      const c = JSON.parse(JSON.stringify(n).replace(/\$\{(\w+)\}/g, (_, k) => env[k] ?? ""));
      delete c.z;
      if (c.type === "putio-download") c.wires = [["out"]];
      return c;
    });
  const accId = flow.find((n) => n.type === "putio-account")!.id;
  const dlId = flow.find((n) => n.type === "putio-download")!.id;
  flow.push({ id: "out", type: "helper" });
  const host = await startChild("nr-host.js");
  try {
    await host.call("load", {
      nodes: ["account", "transfer-watch", "download"],
      flow,
      credentials: { [accId]: { accessToken: info.token } },
      helpers: ["out"],
    });
    const startup = await settled(emu);
    const t0 = Date.now();
    for (let j = 0; j < jobs; j++) {
      const spec = files === 1 ? {} : { files: Array.from({ length: files }, (_, i) => ({ name: `part${i}.mkv`, size: MiB })) };
      await emu.call("addTransfer", { url: magnet(j), saveParentId: incoming, ...spec });
      if (j < jobs - 1) await sleep(JOB_GAP_S * 1000);
    }
    await host.call("waitFor", { outId: "out", topic: "putio/download/done", n: jobs });
    const end = await settled(emu);
    const windowS = (Date.now() - t0) / 1000;
    const done = (await host.call<Array<{ topic?: string; downloaded?: number }>>("messages", "out")).filter((m) => m.topic === "putio/download/done");
    const got = done.reduce((s, m) => s + (m.downloaded ?? 0), 0);
    if (got !== jobs * files) throw new Error(`expected ${jobs * files} files downloaded, got ${got} (${dlId})`);
    const log = (await emu.call<Array<{ method: string; path: string }>>("requests", startup))
      .slice(0, end - startup)
      .filter((r) => !r.path.startsWith("/download/"));
    const routes = byRoute(log);
    // A poller reads every status from the list: it needs neither our lists nor the watch's re-read of a pushed transfer.
    const statusReads = (routes["GET /v2/transfers/list"] ?? 0) + (routes["GET /v2/transfers/:id"] ?? 0);
    const poller = Math.ceil(windowS / 10) + (log.length - statusReads);
    const bound = 4 * jobs * files + jobs;
    await host.call("stop");
    return {
      jobs,
      files,
      filesTotal: jobs * files,
      requests: log.length,
      perFile: log.length / (jobs * files),
      bound,
      met: log.length <= bound,
      routes,
      startupRequests: startup,
      windowS,
      poller10s: { requests: poller, lists: Math.ceil(windowS / 10), perHourLists: 360 },
    };
  } finally {
    await host.close();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows = [];
  for (const s of SCENARIOS) {
    const r = await scenario(s.jobs, s.files);
    rows.push(r);
    console.log(
      `P7 ${r.jobs} jobs × ${r.files} files (${RUNTIME}): ${r.requests} put.io requests = ${fmt(r.perFile)} per file ` +
        `(bound 4/file + 1/job = ${r.bound}: ${r.met ? "met" : "MISSED"}); a 10 s poller over the same ${fmt(r.windowS, 0)} s: ${r.poller10s.requests}`,
    );
    for (const [k, v] of Object.entries(r.routes).sort((a, b) => b[1] - a[1])) console.log(`    ${String(v).padStart(4)}  ${k}`);
  }
  writeResult("p7", { jobGapS: JOB_GAP_S, scenarios: rows, met: rows.every((r) => r.met) });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
