/**
 * Our download engine in a process of its own (P1 library level): one download per call, measured
 * from inside (wall time and process.cpuUsage, which counts every thread of the process, the write
 * threads included), with the CPU the same process spends idle over the same time as the baseline.
 */
import { PutioClient } from "../lib/client";
import { DownloadScheduler } from "../lib/download";
import { idleCpuRate, serve } from "./proc";

let client: PutioClient | null = null;

serve({
  download: async (a: { apiUrl: string; token: string; fileId: number; dir: string }) => {
    client ??= new PutioClient({ token: a.token, apiUrl: a.apiUrl });
    const idleRate = await idleCpuRate(500);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    // One stream: no file is large enough to be split.
    const r = await new DownloadScheduler(client, { segmentThreshold: Number.MAX_SAFE_INTEGER }).run({ source: { fileId: a.fileId }, target: a.dir });
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    if (r.downloaded !== 1) throw new Error(`download failed: ${r.errors[0]?.error.message}`);
    return { wallS, userS: c.user / 1e6, sysS: c.system / 1e6, idleCpuS: idleRate * wallS };
  },
});
