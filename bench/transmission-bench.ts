/**
 * Transmission endpoint benchmarks (node dist/bench/transmission-bench.js), in a real Node-RED
 * runtime (node-red-node-test-helper) against the emulator:
 *  T1 put.io requests caused by 1,000 torrent-get calls (Sonarr's field list) on 50 torrents
 *     (goal: none beyond the watcher's own).
 *  T2 latency from a transfer's completion on put.io to `isFinished` for a small file: the socket
 *     push, the transfer re-read, the verified copy to disk, and the next torrent-get (polled every
 *     10 ms here; an app adds its own poll interval). Goal: median < 2 s.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../test/emulator";
import { nr, withTab } from "../test/nr";
import { ArrRpcClient, SONARR_FIELDS, httpNodeServer, until, untilReady, withHttpNode } from "../test/support/transmission-rpc";
import { percentile, summarize } from "./stats";

const accountNode = require("../nodes/putio-account");
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));
const TORRENTS = Number(process.env.BENCH_TORRENTS ?? 50);
const POLLS = Number(process.env.BENCH_POLLS ?? 1000);
const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const magnet = (n: number) => `magnet:?xt=urn:btih:${n.toString(16).padStart(40, "0")}&dn=bench${n}`;

async function main(): Promise<void> {
  const emu = await startEmulator();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-trbench-"));
  await nr.start();
  const server = await httpNodeServer();
  await nr.load(
    [accountNode, transmissionNode],
    withTab([
      { id: "acc", type: "putio-account", apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, socketUrl: emu.socketUrl },
      { id: "trn", type: "putio-transmission", account: "acc", downloadDir: work, wires: [[]] },
    ]),
    { acc: { accessToken: emu.token }, trn: { username: "bench", password: "bench" } },
  );
  const c = new ArrRpcClient(`${server.url}/transmission/rpc`, "bench", "bench");
  await untilReady(c);

  // T1
  for (let i = 1; i <= TORRENTS; i++) await c.call("torrent-add", { filename: magnet(i), "download-dir": `${work}/tv`, labels: ["tv"] });
  await emu.advance(8000);
  await until(
    "all on disk",
    () => c.call("torrent-get", { fields: ["isFinished"] }),
    (a) => a.torrents.length === TORRENTS && a.torrents.every((t: any) => t.isFinished),
    4000,
  );
  const before = emu.requests.length;
  const t0 = performance.now();
  for (let i = 0; i < POLLS; i++) await c.call("torrent-get", { fields: SONARR_FIELDS });
  const pollMs = performance.now() - t0;
  const caused = emu.requests.slice(before);
  const byPath: Record<string, number> = {};
  for (const r of caused) byPath[r.path] = (byPath[r.path] ?? 0) + 1;

  // T2
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const hash = (10_000 + i).toString(16).padStart(40, "0");
    await c.call("torrent-add", { filename: magnet(10_000 + i), "download-dir": `${work}/movies` });
    await emu.advance(5000); // queued and downloaded: one step from completion
    await sleep(50);
    const start = performance.now();
    await emu.advance(1000); // completes now (the socket push happens inside)
    for (;;) {
      const t = (await c.call("torrent-get", { fields: ["isFinished"], ids: [hash] })).torrents[0];
      if (t?.isFinished) break;
      await sleep(10);
    }
    latencies.push(performance.now() - start);
  }

  await nr.stop();
  await server.close();
  await emu.close();
  fs.rmSync(work, { recursive: true, force: true });

  const lat = summarize(latencies);
  const result = {
    t1: { torrents: TORRENTS, polls: POLLS, putioRequests: caused.length, byPath, pollMs },
    t2: { ...lat, p95: percentile(latencies, 95) },
  };
  const rows: Array<[string, string, string]> = [
    ["T1 put.io requests for 1,000 torrent-get on 50", "goal: 0 beyond the watcher's own", `${caused.length} (${Math.round(pollMs)} ms for the polls)`],
    [
      "T2 completion → isFinished (small file)",
      "goal: median < 2 s",
      `${lat.median.toFixed(0)} ms (${lat.min.toFixed(0)}–${lat.max.toFixed(0)}, p95 ${result.t2.p95.toFixed(0)})`,
    ],
  ];
  for (const [a, b, c2] of rows) console.log(`${a.padEnd(48)} ${b.padEnd(36)} ${c2}`);
  fs.mkdirSync(path.join(__dirname, "..", "..", "bench", "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "..", "..", "bench", "results", "transmission.json"), JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
