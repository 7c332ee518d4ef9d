/**
 * Real Node-RED processes running this package straight from the working tree's build: a userDir
 * whose node_modules links the package's folder (package.json → dist/), so several processes start
 * in seconds without `npm pack`. Default settings, telemetry and the palette's catalogue off. Used
 * where a second Node-RED on the same disk is the point (issue 25, defect 7).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FLAVORS, MODULE, NodeRed, ROOT, launchNodeRed, type Flavor } from "../e2e/harness";

export interface LinkedNodeRed {
  nr: NodeRed;
  userDir: string;
  /** Stops the process (SIGINT, then SIGKILL if it hangs) and removes its userDir. */
  close(): Promise<void>;
}

/** Starts one Node-RED (4.1 on this Node by default) with the package linked into a fresh userDir. */
export async function startLinkedNodeRed(flavor: Flavor = FLAVORS.nr4, env: Record<string, string> = {}): Promise<LinkedNodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-nrproc-"));
  const link = path.join(userDir, "node_modules", ...MODULE.split("/"));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(ROOT, link, "dir");
  fs.writeFileSync(
    path.join(userDir, "package.json"),
    JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true, dependencies: { [MODULE]: "*" } }),
  );
  let nr: NodeRed | undefined;
  try {
    nr = await launchNodeRed(flavor, userDir, { env, credentialSecret: "putio-procs" });
    if (!/putio/.test(nr.log) || /Missing node modules|Waiting for missing types/i.test(nr.log)) {
      const sets = await nr.api<Array<{ module: string; err?: string }>>("GET", "/nodes");
      const ours = sets.body.filter?.((s) => s.module === MODULE) ?? [];
      if (!ours.length || ours.some((s) => s.err)) throw new Error(`the package did not load from ${link}:\n${nr.log}`);
    }
  } catch (err) {
    nr?.kill();
    fs.rmSync(userDir, { recursive: true, force: true });
    throw err;
  }
  const started = nr;
  const close = async () => {
    const timer = setTimeout(() => started.kill(), 15_000);
    await started.stop();
    clearTimeout(timer);
    fs.rmSync(userDir, { recursive: true, force: true });
  };
  return { nr: started, userDir, close };
}
