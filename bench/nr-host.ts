/**
 * A real Node-RED runtime (node-red-node-test-helper; Node-RED 5 when PUTIO_TEST_NODE_RED names it)
 * with one deployed flow, in a process of its own, driven over IPC by a benchmark. The benchmark
 * reads this process's CPU and memory; the emulator runs elsewhere.
 */
import { nr, withTab, type FlowNode } from "../test/nr";
import { httpNodeServer, withHttpNode } from "../test/support/transmission-rpc";
import { idleCpuRate, serve, sleep } from "./proc";

interface Seen {
  topic?: string;
  downloaded?: number;
  errors?: number;
}
const seen = new Map<string, Seen[]>();
const waiters: Array<() => void> = [];
let server: { url: string; close(): Promise<void> } | null = null;

function count(outId: string, topic: string | undefined): number {
  return (seen.get(outId) ?? []).filter((m) => topic === undefined || m.topic === topic).length;
}

async function waitFor(outId: string, topic: string | undefined, n: number): Promise<void> {
  while (count(outId, topic) < n) await new Promise<void>((r) => waiters.push(r));
}

serve({
  load: async (a: { nodes: string[]; flow: FlowNode[]; credentials: Record<string, object>; helpers: string[] }) => {
    await nr.start();
    const mods = a.nodes.map((n) => {
      const mod = require(`../nodes/putio-${n}`);
      return n === "transmission" ? withHttpNode(mod) : mod;
    });
    if (a.nodes.includes("transmission")) server = await httpNodeServer();
    await nr.load(mods, withTab(a.flow), a.credentials);
    for (const id of a.helpers) {
      seen.set(id, []);
      nr.node(id).on("input", (msg: any) => {
        const p = msg.payload;
        seen.get(id)!.push({ topic: msg.topic, downloaded: p?.downloaded, errors: Array.isArray(p?.errors) ? p.errors.length : undefined });
        for (const w of waiters.splice(0)) w();
      });
    }
    return { rpcUrl: server ? `${server.url}/transmission/rpc` : null };
  },
  gc: () => (global as { gc?: () => void }).gc?.(),
  receive: (a: { nodeId: string; msg: object }) => nr.node(a.nodeId).receive(a.msg),
  waitFor: (a: { outId: string; topic?: string; n: number }) => waitFor(a.outId, a.topic, a.n),
  messages: (outId: string) => seen.get(outId) ?? [],
  /** One msg in, measured until `n` msgs with `topic` came out: wall, CPU, and the idle baseline. */
  measure: async (a: { nodeId: string; msg: object; outId: string; topic: string }) => {
    const idleRate = await idleCpuRate(1000);
    const before = count(a.outId, a.topic);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    nr.node(a.nodeId).receive(a.msg);
    await waitFor(a.outId, a.topic, before + 1);
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const last = seen
      .get(a.outId)!
      .filter((m) => m.topic === a.topic)
      .pop();
    return { wallS, userS: c.user / 1e6, sysS: c.system / 1e6, idleCpuS: idleRate * wallS, last };
  },
  cpu: () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  },
  settle: async (ms: number) => sleep(ms),
  stop: async () => {
    await nr.stop();
    await server?.close();
  },
});
