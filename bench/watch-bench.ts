/**
 * Transfer watch benchmarks (node dist/bench/watch-bench.js):
 *  P4 latency from a transfer's completion in the emulator to the watch node's msg (real Node-RED
 *     runtime through node-red-node-test-helper), with the socket and with polling (10 s, the floor).
 *  P5 API requests per idle hour of a deployed watch node with the default settings (socket + 5 min
 *     reconcile), and of polling every 60 s for comparison. The hour is simulated (see idleHour).
 */
import fs from "node:fs";
import path from "node:path";
import FakeTimers from "@sinonjs/fake-timers";
import { startEmulator, type Emulator } from "../test/emulator";
import { nr, withTab } from "../test/nr";
import { percentile, summarize } from "./stats";

const accountNode = require("../nodes/putio-account");
const watchNode = require("../nodes/putio-transfer-watch");
const SOCKET_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 20);
const POLL_RUNS = Number(process.env.BENCH_POLL_RUNS ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const magnet = (n: number) => `magnet:?xt=urn:btih:${n.toString(16).padStart(40, "0")}&dn=bench${n}`;

async function latency(emu: Emulator, mode: "socket" | "poll", runs: number): Promise<number[]> {
  await nr.start();
  const got: number[] = [];
  await nr.load(
    [accountNode, watchNode],
    withTab([
      { id: "acc", type: "putio-account", name: "bench", apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, socketUrl: emu.socketUrl },
      {
        id: "watch",
        type: "putio-transfer-watch",
        account: "acc",
        mode,
        intervalSeconds: mode === "poll" ? "10" : "",
        statuses: "COMPLETED",
        emitMissed: true,
        wires: [["out"]],
      },
      { id: "out", type: "helper" },
    ]),
    { acc: { accessToken: emu.token } },
  );
  nr.node("out").on("input", () => got.push(performance.now()));
  while (!emu.requests.some((r) => r.path === "/v2/transfers/list")) await sleep(10);
  await sleep(200);
  const latencies: number[] = [];
  for (let i = 0; i < runs; i++) {
    emu.state.addTransfer({ url: magnet(mode === "poll" ? 5000 + i : i) });
    await emu.advance(5000); // queued and downloaded: one step from completion
    // Polls are phase-locked to the previous msg: complete at a random point of the interval.
    if (mode === "poll") await sleep(Math.random() * 10_000);
    const before = got.length;
    const t0 = performance.now();
    await emu.advance(1000); // completes now (socket push happens inside)
    while (got.length === before) await sleep(1);
    latencies.push(got[got.length - 1] - t0);
  }
  await nr.stop();
  return latencies;
}

/**
 * Requests per idle hour of a deployed watch node. Start-up (account check, baseline, first
 * reconcile) is counted apart; then only setInterval is faked (the reconcile timer; the socket's
 * timers stay real), 60 one-minute ticks run with real time between them for the HTTP they start,
 * and the emulator's own request log gives the count. The emulator sends no socket heartbeats and
 * the socket stays up, so a real hour adds one reconcile per socket reconnect on top.
 */
async function idleHour(emu: Emulator, mode: "socket" | "poll"): Promise<{ startup: number; hour: number }> {
  const clock = FakeTimers.install({ toFake: ["setInterval", "clearInterval"] });
  const start = emu.requests.length;
  await nr.start();
  await nr.load(
    [accountNode, watchNode],
    withTab([
      { id: "acc", type: "putio-account", name: "bench", apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, socketUrl: emu.socketUrl },
      { id: "watch", type: "putio-transfer-watch", account: "acc", mode, intervalSeconds: "", statuses: "COMPLETED,ERROR", emitMissed: true, wires: [["out"]] },
      { id: "out", type: "helper" },
    ]),
    { acc: { accessToken: emu.token } },
  );
  // Settled: no request for 500 ms of real time.
  let last = -1;
  while (emu.requests.length !== last) {
    last = emu.requests.length;
    await sleep(500);
  }
  const settled = emu.requests.length;
  for (let minute = 0; minute < 60; minute++) {
    clock.tick(60_000);
    await sleep(30);
  }
  await sleep(300);
  const hour = emu.requests.length - settled;
  await nr.stop();
  clock.uninstall();
  return { startup: settled - start, hour };
}

async function main(): Promise<void> {
  const emu = await startEmulator();
  for (let i = 0; i < 30; i++) emu.state.addTransfer({ url: magnet(9000 + i), status: i % 5 ? "COMPLETED" : "DOWNLOADING" });
  const idle = await idleHour(emu, "socket");
  const idlePoll = await idleHour(emu, "poll");
  const socketMs = await latency(emu, "socket", SOCKET_RUNS);
  const pollMs = await latency(emu, "poll", POLL_RUNS);
  await emu.close();
  const result = {
    P4: {
      socket: { ...summarize(socketMs), p95: percentile(socketMs, 95), unit: "ms", goal: "median < 1000 ms", met: summarize(socketMs).median < 1000 },
      polling: { ...summarize(pollMs), p95: percentile(pollMs, 95), unit: "ms", intervalSeconds: 10 },
    },
    P5: {
      requestsPerIdleHour: idle.hour,
      startupRequests: idle.startup,
      pollingDefault60s: { requestsPerIdleHour: idlePoll.hour, startupRequests: idlePoll.startup },
      method: "deployed node, 30 listed transfers, setInterval faked: 60 ticks of 60 s, emulator request log",
      goal: "<= 15",
      met: idle.hour <= 15,
    },
  };
  const f = (n: number) => n.toFixed(n < 10 ? 1 : 0);
  const rows: Array<[string, string, string]> = [
    [
      `P4 completion → msg, socket (${SOCKET_RUNS} runs)`,
      `median ${f(result.P4.socket.median)} ms, p95 ${f(result.P4.socket.p95)} ms (min ${f(result.P4.socket.min)}, max ${f(result.P4.socket.max)})`,
      `< 1000 ms: ${result.P4.socket.met ? "met" : "MISSED"}`,
    ],
    [
      `P4 completion → msg, polling 10 s (${POLL_RUNS} runs)`,
      `median ${f(result.P4.polling.median)} ms, p95 ${f(result.P4.polling.p95)} ms (min ${f(result.P4.polling.min)}, max ${f(result.P4.polling.max)})`,
      "(comparison)",
    ],
    ["P5 requests per idle hour, socket + 5 min", `${idle.hour} (+${idle.startup} at start-up)`, `≤ 15: ${result.P5.met ? "met" : "MISSED"}`],
    ["P5 requests per idle hour, polling 60 s", `${idlePoll.hour} (+${idlePoll.startup} at start-up)`, "(comparison)"],
  ];
  for (const [a, b, c] of rows) console.log(`${a.padEnd(44)} ${b.padEnd(58)} ${c}`);
  fs.mkdirSync(path.join(__dirname, "..", "..", "bench", "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "..", "..", "bench", "results", "watch.json"), JSON.stringify(result, null, 2));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
