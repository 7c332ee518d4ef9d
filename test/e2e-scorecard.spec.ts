/**
 * The Flow Library scorecard (`npm run scorecard`: node-red-dev validate, offline) of the package as
 * packed. The package must pass it; and on altered copies of the package the check is shown to
 * fail where it should (N02 names the node no example uses; the P05 keyword), so a pass means something.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageNodes, packPackage, requireSetup, ROOT } from "./e2e/harness";

const SCRIPT = path.join(ROOT, "scripts", "scorecard.js");

function scorecard(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The scorecard's verdict for one check, read from its table. */
function verdict(out: string, id: string): string | undefined {
  return new RegExp(`^${id}\\s+(\\S+)`, "m").exec(out)?.[1];
}

/** A fresh unpacked copy of the tarball, to alter. */
async function unpackedCopy(): Promise<string> {
  const tgz = await packPackage();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-scorecard-copy-"));
  execFileSync("tar", ["xzf", tgz, "-C", dir]);
  return path.join(dir, "package");
}

function writeExamples(dir: string, flows: Record<string, object[]>): void {
  const ex = path.join(dir, "examples");
  fs.rmSync(ex, { recursive: true, force: true });
  fs.mkdirSync(ex);
  for (const [name, flow] of Object.entries(flows)) fs.writeFileSync(path.join(ex, `${name}.json`), JSON.stringify(flow));
}

describe("e2e scorecard (node-red-dev validate, offline) @e2e", function () {
  this.timeout(120_000);
  const nodes = packageNodes().filter((d) => d.category !== "config");

  before(() => requireSetup("node-red-dev"));

  it("the package passes P01, P03-P07, N02, D01, D02 (N02: an example uses every non-config node)", () => {
    const { code, out } = scorecard();
    assert.match(out, /Scorecard for /, out);
    assert.equal(code, 0, out);
    for (const id of ["P01", "P03", "P04", "P05", "P06", "P07", "N02", "D01", "D02"]) assert.equal(verdict(out, id), "pass", `${id}:\n${out}`);
  });

  it("N02 fails, naming the node, when no example uses one node", async () => {
    const dir = await unpackedCopy();
    const left = nodes[nodes.length - 1];
    const used = nodes.slice(0, -1).map((d, i) => ({ id: `n${i}`, type: d.type, z: "t", wires: [] }));
    writeExamples(dir, { partial: [{ id: "t", type: "tab", label: "x" }, { id: "c", type: "comment", z: "t", name: "all but one", wires: [] }, ...used] });
    const { code, out } = scorecard("--path", dir);
    assert.equal(code, 1, out);
    assert.equal(verdict(out, "N02"), "FAIL", out);
    const missingLine = /no example uses: (.*)$/m.exec(out)?.[1] ?? "";
    assert.deepEqual(missingLine.split(", "), [left.type], out);
  });

  it("N02 passes when examples (in any file) use every non-config node", async () => {
    const dir = await unpackedCopy();
    const flows: Record<string, object[]> = {};
    nodes.forEach(
      (d, i) =>
        (flows[`ex-${i}`] = [
          { id: "t", type: "tab", label: "x" },
          { id: `n${i}`, type: d.type, z: "t", wires: [] },
        ]),
    );
    writeExamples(dir, flows);
    const { out } = scorecard("--path", dir);
    assert.equal(verdict(out, "N02"), "pass", out);
  });

  it("P05 fails without the node-red keyword (node-red-dev alone would let it pass)", async () => {
    const dir = await unpackedCopy();
    const pkgFile = path.join(dir, "package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { keywords: string[] };
    pkg.keywords = pkg.keywords.filter((k) => k !== "node-red");
    fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    const { code, out } = scorecard("--path", dir);
    assert.equal(code, 1, out);
    assert.equal(verdict(out, "P05"), "FAIL", out);
  });
});
