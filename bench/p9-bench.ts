/**
 * P9, the cost of idle (node dist/bench/p9-bench.js): a deployed flow with putio-transfer-watch,
 * putio-events (watch), putio-account-info and putio-transmission (each with its editor defaults) in
 * a real Node-RED process, the emulator (realtime clock: its socket pings every 10 s, as put.io's
 * heartbeat does) in another. After the flow has settled (SETTLE_S), the Node-RED process's CPU
 * (process.cpuUsage, user + sys) and the emulator's request log are read at the start and end of a
 * window of IDLE_S seconds of real time, and both are scaled to one hour. The default window, 300 s,
 * holds one of the watch's 5-minute reconciles. Beside it, over the same window, a second Node-RED
 * process with an empty flow: what Node-RED itself spends idle, for reference (the goal is on the
 * flow's process as a whole). Writes bench/results/p9-<tag>.json.
 */
import fs from "node:fs";
import { fmt } from "./harness";
import { RUNTIME, scratchDir, sleep, startChild, writeResult } from "./proc";

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 300);
// V8's memory reducer runs a few full GCs (~0.1–0.2 s of CPU) some 15–20 s after start-up stops
// allocating: a one-time cost of the deploy, not of idling, so the window opens after it.
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 60);
/** The events node's poll (its editor default, 60 s); another value shows what a slower poll would save. */
const EVENTS_POLL_S = process.env.BENCH_P9_EVENTS_POLL_S ?? "60";

async function main(): Promise<void> {
  const emu = await startChild("emu-host.js");
  const info = await emu.call<{ apiUrl: string; uploadUrl: string; socketUrl: string; token: string }>("start", { realtimeClock: true });
  const dir = scratchDir("putio-p9-");
  const host = await startChild("nr-host.js");
  const empty = await startChild("nr-host.js");
  try {
    await empty.call("load", { nodes: [], flow: [], credentials: {}, helpers: [] });
    await host.call("load", {
      nodes: ["account", "transfer-watch", "events", "account-info", "transmission"],
      flow: [
        { id: "acc", type: "putio-account", name: "bench", apiUrl: info.apiUrl, uploadUrl: info.uploadUrl, socketUrl: info.socketUrl },
        {
          id: "watch",
          type: "putio-transfer-watch",
          account: "acc",
          mode: "socket",
          intervalSeconds: "",
          statuses: "COMPLETED",
          emitMissed: true,
          wires: [["out"]],
        },
        {
          id: "events",
          type: "putio-events",
          account: "acc",
          action: "watch",
          types: "",
          pollSeconds: EVENTS_POLL_S,
          useSocket: true,
          emitExisting: false,
          max: "100",
          wires: [["out"]],
        },
        { id: "info", type: "putio-account-info", account: "acc", thresholdGb: "", includeSettings: false, wires: [["out"], [], []] },
        {
          id: "trn",
          type: "putio-transmission",
          account: "acc",
          path: "/transmission/rpc",
          downloadDir: dir,
          putioFolder: "/Transmission",
          cleanup: "trash",
          requireAuth: true,
          wires: [[]],
        },
        { id: "out", type: "helper" },
      ],
      credentials: { acc: { accessToken: info.token }, trn: { username: "bench", password: "bench" } },
      helpers: ["out"],
    });
    await sleep(SETTLE_S * 1000);
    const r0 = await emu.call<number>("requestCount");
    const c0 = await host.call<number>("cpu");
    const e0 = await empty.call<number>("cpu");
    const t0 = process.hrtime.bigint();
    await sleep(IDLE_S * 1000);
    const c1 = await host.call<number>("cpu");
    const e1 = await empty.call<number>("cpu");
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const log = await emu.call<Array<{ method: string; path: string }>>("requests", r0);
    if (r0 === 0) throw new Error("the flow made no put.io request at start-up: not deployed?");
    const routes: Record<string, number> = {};
    for (const r of log) routes[`${r.method} ${r.path}`] = (routes[`${r.method} ${r.path}`] ?? 0) + 1;
    const cpuPerHourS = ((c1 - c0) / wallS) * 3600;
    const requestsPerHour = (log.length / wallS) * 3600;
    const emptyPerHourS = ((e1 - e0) / wallS) * 3600;
    console.log(
      `P9 idle flow (watch, events polling ${EVENTS_POLL_S} s, account info, Transmission; ${RUNTIME}): ${fmt(cpuPerHourS)} CPU s per hour ` +
        `(${fmt(c1 - c0, 3)} s over ${fmt(wallS, 0)} s), ${fmt(requestsPerHour, 0)} put.io requests per hour (${log.length} in the window; ${r0} at start-up), goal < 2 s; ` +
        `Node-RED with an empty flow: ${fmt(emptyPerHourS)} CPU s per hour`,
    );
    for (const [k, v] of Object.entries(routes)) console.log(`    ${String(v).padStart(4)}  ${k}`);
    writeResult("p9", {
      windowS: wallS,
      settleS: SETTLE_S,
      startupRequests: r0,
      cpuS: c1 - c0,
      cpuPerHourS,
      emptyFlowCpuPerHourS: emptyPerHourS,
      eventsPollSeconds: EVENTS_POLL_S,
      requests: log.length,
      requestsPerHour,
      routes,
      met: cpuPerHourS < 2,
    });
    await host.call("stop");
  } finally {
    await empty.close();
    await host.close();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
