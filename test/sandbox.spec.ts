/** `npm start` as a user runs it: the sandbox starts, the editor answers, the account validates, Ctrl-C stops it. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe("sandbox (npm start)", function () {
  this.timeout(60_000);

  it("starts the emulator and Node-RED; the editor answers; the account validates; SIGINT stops both", async () => {
    const port = await freePort();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-"));
    const script = path.join(__dirname, "..", "scripts", "sandbox.js");
    const child = spawn(process.execPath, [script, "--port", String(port), "--userdir", userDir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (/Node-RED editor:/.test(out) && /validated its token against the emulator/.test(out)) return resolve();
          if (child.exitCode !== null) return reject(new Error("sandbox exited early:\n" + out));
          setTimeout(check, 100);
        };
        check();
      });
      const editor = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(editor.status, 200);
      assert.match(await editor.text(), /Node-RED/);
      const nodes = (await (await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: "application/json" } })).json()) as Array<{
        module: string;
        types: string[];
        err?: string;
      }>;
      const ours = nodes.filter((n) => n.module === "@putflow/node-red-putio");
      assert.ok(ours.some((n) => n.types.includes("putio-account")));
      for (const n of ours) assert.equal(n.err, undefined, `${n.types} failed to load: ${n.err}`);
      const flows = fs.readFileSync(path.join(userDir, "flows.json"), "utf8");
      assert.ok(!/accessToken/.test(flows), "the token must not be in the flow file");
    } finally {
      child.kill("SIGINT");
    }
    const code = await exited;
    assert.equal(code, 0, out);
    // Both are down: the editor port is free again.
    await new Promise<void>((resolve, reject) => {
      const s = net
        .createServer()
        .once("error", reject)
        .listen(port, "127.0.0.1", () => s.close(() => resolve()));
    });
  });
});
