/**
 * The test sets are chosen by tags, not by file names: `@nr` in a spec's describe title runs it on
 * both Node-RED runtimes (`npm run test:nr5` greps for it), `@e2e` marks the specs that drive a
 * browser or a Node-RED process, `@slow` a lib spec that runs long in real time (left out of the quick
 * loop only), and `npm run test:quick` is everything else. A spec that starts
 * Node-RED (imports test/nr.ts, directly or through a support module) without the tag would silently
 * skip Node-RED 5 and slow the quick set down: this spec fails on it, by asking mocha itself which
 * tests each file holds.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const TEST = path.join(ROOT, "test");

/** What marks a spec: it reaches test/nr.ts (Node-RED in this process) or test/e2e/ (a browser, a Node-RED process). */
const MARKS = [
  { tag: "@nr", what: "Node-RED in this process", reaches: (file: string) => file === path.join(TEST, "nr.ts") || file === "node-red-node-test-helper" },
  {
    tag: "@e2e",
    what: "a browser or a Node-RED process",
    reaches: (file: string) => file.startsWith(path.join(TEST, "e2e") + path.sep) || file === "playwright-core",
  },
] as const;

/** The files a test source imports: relative ones resolved to their .ts, packages by name. */
function importsOf(file: string): string[] {
  const src = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(/(?:from\s+|require\(|import\()\s*["']([^"']+)["']/g)) {
    const spec = m[1]!;
    if (!spec.startsWith(".")) {
      out.push(spec);
      continue;
    }
    const base = path.resolve(path.dirname(file), spec);
    const hit = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
    if (hit) out.push(hit);
  }
  return out;
}

/** Every file (and package) a spec reaches through its imports, inside test/ only (lib/ never reaches Node-RED). */
export function reachable(spec: string): Set<string> {
  const seen = new Set<string>();
  const todo = [spec];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f.startsWith(TEST + path.sep)) todo.push(...importsOf(f));
  }
  return seen;
}

interface DryTest {
  fullTitle: string;
  file: string;
}

/** The tests of a file that need `tag` but whose title does not carry it (so mocha's --grep misses them). */
export function untagged(tests: DryTest[], needs: (specSource: string) => boolean, tag: string): string[] {
  const word = new RegExp(`${tag}\\b`);
  return tests.filter((t) => needs(t.file) && !word.test(t.fullTitle)).map((t) => `${path.basename(t.file)}: ${t.fullTitle}`);
}

/** The source of a compiled spec: dist/test/x.spec.js → test/x.spec.ts. */
const sourceOf = (compiled: string) => path.join(TEST, path.relative(path.join(ROOT, "dist", "test"), compiled)).replace(/\.js$/, ".ts");

describe("test sets: every spec that starts Node-RED runs on both runtimes, and none is in the quick set", function () {
  this.timeout(120_000);
  let tests: DryTest[];

  before(() => {
    // mocha lists every test of the suite without running any (the json reporter, to a file: specs may print).
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "putio-sets-")), "tests.json");
    const r = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        require.resolve("mocha/bin/mocha.js"),
        "--dry-run",
        "--reporter",
        "json",
        "--reporter-option",
        `output=${out}`,
        "dist/test/**/*.spec.js",
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    tests = JSON.parse(fs.readFileSync(out, "utf8")).tests;
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    assert.ok(tests.length > 100, `mocha listed ${tests.length} tests`);
  });

  // (No tag in these titles: the quick set's --grep would drop this spec.)
  for (const { tag, what, reaches } of MARKS) {
    it(`a spec that starts ${what} carries its tag in every test's title`, () => {
      const memo = new Map<string, boolean>();
      const needs = (compiled: string) => {
        if (!memo.has(compiled)) memo.set(compiled, [...reachable(sourceOf(compiled))].some(reaches));
        return memo.get(compiled)!;
      };
      const files = new Set(tests.map((t) => t.file).filter(needs));
      assert.ok(files.size >= (tag === "@nr" ? 20 : 5), `only ${files.size} specs found reaching it: the import scan is broken`);
      assert.deepEqual(untagged(tests, needs, tag), []);
    });
  }

  it("package.json selects by those tags, over all specs", () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
    const all = '"dist/test/**/*.spec.js"';
    assert.ok(scripts["test:nr4"].endsWith(`mocha ${all}`), scripts["test:nr4"]);
    assert.ok(scripts["test:nr5"].endsWith(`mocha.js --grep @nr ${all}`), scripts["test:nr5"]);
    assert.ok(scripts["test:quick"].endsWith(`mocha --grep "@nr|@e2e|@slow" --invert ${all}`), scripts["test:quick"]);
    // The watch mode uses the same quick set; the oldest-Node run takes the @slow specs too.
    assert.match(fs.readFileSync(path.join(ROOT, "scripts", "test-watch.js"), "utf8"), /\["--grep", "@nr\|@e2e\|@slow", "--invert"\]/);
    assert.match(fs.readFileSync(path.join(ROOT, "scripts", "test-node-min.sh"), "utf8"), /--grep "@nr\|@e2e" --invert "dist\/test\/\*\*\/\*\.spec\.js"/);
  });

  it("the check fails on a spec that starts Node-RED without the tag (a broken copy)", () => {
    const fake = [
      { fullTitle: "putio-foo node @nr does a thing", file: "/x/dist/test/foo-node.spec.js" },
      { fullTitle: "putio-bar node does a thing", file: "/x/dist/test/bar-node.spec.js" },
      { fullTitle: "putio-baz node @nrx does a thing", file: "/x/dist/test/baz-node.spec.js" },
      { fullTitle: "a pure thing", file: "/x/dist/test/pure.spec.js" },
    ];
    const needs = (f: string) => f.endsWith("-node.spec.js");
    assert.deepEqual(untagged(fake, needs, "@nr"), ["bar-node.spec.js: putio-bar node does a thing", "baz-node.spec.js: putio-baz node @nrx does a thing"]);
  });

  it("the import scan finds test/nr.ts through a support module", () => {
    assert.ok(reachable(path.join(TEST, "support", "examples.ts")).has(path.join(TEST, "nr.ts")));
    assert.ok(!reachable(path.join(TEST, "test-sets.spec.ts")).has(path.join(TEST, "nr.ts")));
  });
});
