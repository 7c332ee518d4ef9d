/**
 * Transfer watch benchmarks (node dist/bench/watch-bench.js):
 *  P4 latency from a transfer's completion in the emulator to the watch node's msg (real Node-RED
 *     runtime through node-red-node-test-helper), with the socket and with polling (10 s, the floor).
 *  P5 API requests per idle hour of a watcher with the default settings (socket + 5 min reconcile).
 *     The hour is simulated: only setInterval is faked (the reconcile timer), so one hour of
 *     reconcile ticks runs in seconds while sockets and HTTP run for real; the count is the
 *     emulator's own request log.
 */
import fs from "node:fs";
import path from "node:path";
import FakeTimers from "@sinonjs/fake-timers";
import { PutioClient } from "../lib/client";
import { PutioSocket } from "../lib/socket";
import { TransferWatcher } from "../lib/transfer-watch";
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
      { id: "watch", type: "putio-transfer-watch", account: "acc", mode, intervalSeconds: mode === "poll" ? "10" : "", statuses: "COMPLETED", emitMissed: true, wires: [["out"]] },
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

async function idleHour(emu: Emulator): Promise<number> {
  const clock = FakeTimers.install({ toFake: ["setInterval", "clearInterval"] });
  const client = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token });
  const socket = new PutioSocket({ url: emu.socketUrl, token: () => emu.token });
  const watcher = new TransferWatcher({ client, socket });
  const before = emu.requests.length;
  watcher.start();
  watcher.subscribe(() => {});
  for (let minute = 0; minute < 60; minute++) {
    clock.tick(60_000);
    await sleep(30); // real time for the HTTP the tick started
  }
  await sleep(200);
  const count = emu.requests.length - before;
  watcher.stop();
  socket.stop();
  clock.uninstall();
  await client.close();
  return count;
}

async function main(): Promise<void> {
  const emu = await startEmulator();
  const socketMs = await latency(emu, "socket", SOCKET_RUNS);
  const pollMs = await latency(emu, "poll", POLL_RUNS);
  const idle = await idleHour(emu);
  await emu.close();
  const result = {
    P4: {
      socket: { ...summarize(socketMs), p95: percentile(socketMs, 95), unit: "ms", goal: "median < 1000 ms", met: summarize(socketMs).median < 1000 },
      polling: { ...summarize(pollMs), p95: percentile(pollMs, 95), unit: "ms", intervalSeconds: 10 },
    },
    P5: { requestsPerIdleHour: idle, goal: "<= 15", met: idle <= 15 },
  };
  const f = (n: number) => n.toFixed(n < 10 ? 1 : 0);
  console.log("P4 completion → msg, socket : median %s ms, p95 %s ms (min %s, max %s, %d runs)", f(result.P4.socket.median), f(result.P4.socket.p95), f(result.P4.socket.min), f(result.P4.socket.max), SOCKET_RUNS);
  console.log("P4 completion → msg, polling: median %s ms, p95 %s ms (min %s, max %s, %d runs, every 10 s)", f(result.P4.polling.median), f(result.P4.polling.p95), f(result.P4.polling.min), f(result.P4.polling.max), POLL_RUNS);
  console.log("P5 requests per idle hour (socket + 5 min reconcile): %d (goal ≤ 15: %s)", idle, result.P5.met ? "met" : "MISSED");
  fs.mkdirSync(path.join(__dirname, "..", "..", "bench", "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "..", "..", "bench", "results", "watch.json"), JSON.stringify(result, null, 2));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
