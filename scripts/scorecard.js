#!/usr/bin/env node
/**
 * `npm run scorecard`: the Flow Library's scorecard (node-red-dev validate, installed by
 * `npm run setup`) for the package as published, run offline.
 *
 *   node scripts/scorecard.js [--path <unpacked package dir>] [--json <scorecard.json>] [--help]
 *
 * Without --path it validates the tarball `npm pack` makes of the working tree (build first:
 * the node definitions are read from dist/). node-red-dev fetches catalogue.nodered.org for P08
 * and N01; a preload answers that one request with an empty catalogue (so those two checks
 * cannot see real name clashes), everything else is node-red-dev's own code. P06, P07 and D02
 * ask the npm registry.
 *
 * Exit 1 when a required check fails (P01, P03-P07, N02, D01, D02), when node-red-dev could not
 * parse a node's .html (it would then silently leave that node out of N02), or when it crashed.
 * The examples check is also recomputed here, to name the nodes that no example uses.
 */
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { parseArgs } = require("util");

const ROOT = path.join(__dirname, "..");
const NODE_RED_DEV = path.join(ROOT, ".sandbox", "tools", "node_modules", "node-red-dev", "bin", "run");
const REQUIRED = ["P01", "P03", "P04", "P05", "P06", "P07", "N02", "D01", "D02"];
const NAMES = {
  P01: "license",
  P03: "repository or bugs URL",
  P04: "scoped or node-red-contrib- name",
  P05: "node-red keyword",
  P06: "node-red.version matches the latest Node-RED",
  P07: "engines.node fits the latest Node-RED",
  P08: "no similar package names (offline: empty catalogue)",
  N01: "unique node types (offline: empty catalogue)",
  N02: "examples use every non-config node",
  D01: "at most 6 dependencies",
  D02: "no known-bad packages in the tree",
  D03: "dependencies at their latest version (advisory)",
};

// Only the catalogue request is answered locally; anything else goes to the network as usual.
const PRELOAD = `
const Module = require("module");
const load = Module._load;
Module._load = function (request) {
  const mod = load.apply(this, arguments);
  if (request === "axios" && !mod.__putioOffline) {
    const get = mod.get.bind(mod);
    mod.get = (url, ...rest) => /catalogue\\.nodered\\.org/.test(String(url))
      ? Promise.resolve({ status: 200, data: { modules: [] } })
      : get(url, ...rest);
    mod.__putioOffline = true;
  }
  return mod;
};
`;

const HELP = `The Flow Library's scorecard (node-red-dev validate), offline (npm run scorecard -- [options]).

  --path DIR     validate this unpacked package (default: the tarball npm pack makes of the working tree)
  --json FILE    keep node-red-dev's scorecard.json there
  -h, --help     this help

Exit 1 when a required check fails (${REQUIRED.join(", ")}).`;

/** The options, or null after printing why they are wrong (exit code 2) or the help (0). */
function options(argv) {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: { path: { type: "string" }, json: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${err.message}\n\n${HELP}`);
    process.exitCode = 2;
    return null;
  }
  if (values.help) {
    console.log(HELP);
    return null;
  }
  return values;
}

/** Without what an enclosing `npm run` exports (npm_config_*, npm_package_*, …). */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "NODE_OPTIONS"));

function packAndUnpack(tmp) {
  const env = ENV;
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const [info] = JSON.parse(out);
  execFileSync("tar", ["xzf", path.join(tmp, info.filename), "-C", tmp]);
  return path.join(tmp, "package");
}

/** Node types of a package, read from the .html of each file in node-red.nodes as the editor runs it. */
function nodeTypes(dir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const types = [];
  for (const js of Object.values(pkg["node-red"].nodes)) {
    const htmlFile = path.join(dir, js.replace(/\.js$/, ".html"));
    if (!fs.existsSync(htmlFile)) {
      types.push({ type: `(missing ${js.replace(/\.js$/, ".html")})`, category: "?" });
      continue;
    }
    const html = fs.readFileSync(htmlFile, "utf8");
    for (const m of html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
      const pass = () => () => true;
      const RED = {
        nodes: { registerType: (type, def) => types.push({ type, category: def.category }) },
        validators: { number: pass, regex: pass, typedInput: pass },
        // Editor-wide hooks a definition file registers (putio-account.html's import hook).
        events: { on: () => {} },
        _: (k) => k,
      };
      new Function("RED", "$", m[1])(RED, () => ({}));
    }
  }
  return types;
}

function exampleFiles(dir) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json")) out.push(p);
    }
  };
  walk(path.join(dir, "examples"));
  return out;
}

/** Our own N02: which non-config nodes no example uses (node-red-dev only says pass or fail). */
function missingExamples(dir) {
  const used = new Set();
  const unreadable = [];
  for (const f of exampleFiles(dir)) {
    try {
      const flow = JSON.parse(fs.readFileSync(f, "utf8"));
      if (!Array.isArray(flow)) throw new Error("not an array");
      for (const n of flow) used.add(n && n.type);
    } catch (e) {
      unreadable.push(`${path.relative(dir, f)} (${e.message})`);
    }
  }
  const missing = nodeTypes(dir)
    .filter((d) => d.category !== "config" && !used.has(d.type))
    .map((d) => d.type);
  return { missing, unreadable, files: exampleFiles(dir).length };
}

function main() {
  const opts = options(process.argv.slice(2));
  if (!opts) return process.exitCode;
  if (!fs.existsSync(NODE_RED_DEV)) {
    console.error(`node-red-dev is not installed at ${NODE_RED_DEV}: run \`npm run setup\` once on this machine.`);
    return 1;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "putio-scorecard-"));
  try {
    const dir = opts.path ? path.resolve(opts.path) : packAndUnpack(tmp);
    const cardFile = opts.json ? path.resolve(opts.json) : path.join(tmp, "scorecard.json");
    const preload = path.join(tmp, "offline-catalogue.js");
    fs.writeFileSync(preload, PRELOAD);
    const res = spawnSync(process.execPath, [NODE_RED_DEV, "validate", "-p", dir, "-o", cardFile], {
      cwd: dir,
      encoding: "utf8",
      env: { ...ENV, NODE_OPTIONS: `--require ${preload}` },
    });
    const output = `${res.stdout || ""}${res.stderr || ""}`;
    console.log(output.trimEnd());
    const problems = [];
    if (res.status !== 0) problems.push(`node-red-dev exited with ${res.status}`);
    for (const line of output.split("\n")) if (/Unable to parse/.test(line)) problems.push(`node-red-dev: ${line.trim()} (its .html could not be parsed)`);
    let card = {};
    try {
      card = JSON.parse(fs.readFileSync(cardFile, "utf8"));
    } catch {
      problems.push("node-red-dev wrote no scorecard");
    }

    const ex = missingExamples(dir);
    const rows = Object.keys(NAMES).map((id) => {
      const r = card[id];
      const required = REQUIRED.includes(id);
      const verdict = !r ? "missing" : r.test ? "pass" : required ? "FAIL" : "warn";
      let note = "";
      if (id === "N02") note = ex.missing.length ? `no example uses: ${ex.missing.join(", ")}` : `${ex.files} example file(s)`;
      if (id === "D01" && r) note = `${r.total} dependencies`;
      if (id === "D03" && r && r.packages) note = `not latest: ${r.packages.join(", ")}`;
      if (id === "P06" && r && r.versions) note = `latest: ${r.versions.join(", ")}`;
      return { id, check: NAMES[id], verdict, note, required };
    });

    // node-red-dev 0.1.6 records P05 as passed even without the keyword; the Flow Library rejects such a package.
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const p05 = rows.find((r) => r.id === "P05");
    if (!(pkg.keywords || []).includes("node-red")) Object.assign(p05, { verdict: "FAIL", note: "keywords lack node-red" });
    console.log(`\nScorecard for ${card.package ? `${card.package.name}@${card.package.version}` : dir}${opts.path ? "" : " (as packed)"}`);
    console.log(`${"id".padEnd(4)} ${"verdict".padEnd(8)} ${"check".padEnd(52)} note`);
    for (const r of rows) console.log(`${r.id.padEnd(4)} ${r.verdict.padEnd(8)} ${(r.check + (r.required ? "" : " *")).padEnd(52)} ${r.note}`);
    console.log("* not required");
    for (const r of rows) if (r.required && r.verdict !== "pass") problems.push(`${r.id} ${r.check}: ${r.verdict}${r.note ? ` (${r.note})` : ""}`);
    // node-red-dev's N02 passes with no node left out; ours must agree, or one of them misread the package.
    if (card.N02 && card.N02.test === true && ex.missing.length) problems.push(`N02 passed in node-red-dev but no example uses: ${ex.missing.join(", ")}`);
    for (const u of ex.unreadable) problems.push(`unreadable example: ${u}`);
    if (problems.length) {
      console.log(`\nScorecard FAILED:\n  - ${problems.join("\n  - ")}`);
      return 1;
    }
    console.log("\nScorecard passed.");
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = main();
