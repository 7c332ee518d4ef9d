/** The command-line tools: --help prints help and exits (starting nothing), a wrong option is refused with the help. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const TOOLS = [
  { name: "the emulator", script: path.join(ROOT, "dist", "test", "emulator", "cli.js"), options: ["--port", "--no-seed", "--manual-clock"] },
  { name: "the sandbox", script: path.join(ROOT, "dist", "scripts", "sandbox.js"), options: ["--port", "--userdir", "--nas", "--emulator-port"] },
  { name: "the scorecard", script: path.join(ROOT, "scripts", "scorecard.js"), options: ["--path", "--json"] },
  { name: "the benchmarks", script: path.join(ROOT, "dist", "bench", "run-all.js"), options: ["--nr4", "--nr5", "--summary"] },
];

// Generous: a busy machine; a tool that started its work instead (a server, npm pack) would not exit this soon.
const run = (script: string, args: string[]) => spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });

describe("command-line tools: --help and wrong options", function () {
  this.timeout(70_000);
  for (const tool of TOOLS) {
    it(`${tool.name}: --help (and -h) prints its options and exits 0 without starting anything`, () => {
      for (const flag of ["--help", "-h"]) {
        const r = run(tool.script, [flag]);
        assert.equal(r.signal, null, `${flag} did not exit by itself:\n${r.stdout}${r.stderr}`);
        assert.equal(r.status, 0, r.stderr);
        for (const o of [...tool.options, "--help"]) assert.ok(r.stdout.includes(o), `${flag} names ${o}:\n${r.stdout}`);
        assert.doesNotMatch(r.stdout, /listening|Missing|Scorecard for|=====/, "only the help");
      }
    });

    it(`${tool.name}: an unknown option is refused (exit 2) with the help, before any work`, () => {
      const r = run(tool.script, ["--no-such-option"]);
      assert.equal(r.signal, null, `did not exit by itself:\n${r.stdout}${r.stderr}`);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /no-such-option/);
      assert.match(r.stderr, /--help/);
    });
  }

  it("a port that is not a number is refused, not taken as NaN", () => {
    for (const [script, flag] of [
      [TOOLS[0]!.script, "--port"],
      [TOOLS[1]!.script, "--emulator-port"],
    ] as const) {
      const r = run(script, [flag, "84x"]);
      assert.equal(r.signal, null, `did not exit by itself:\n${r.stdout}${r.stderr}`);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /84x is not a port number/);
    }
  });
});
