// npm run test:watch [-- <compiled specs or globs>]: tsc --watch, and after every build without
// errors the quick set again (lib, emulator and pure specs: no Node-RED, no browser), in a fresh
// mocha process so no module of the last run lingers. A run still going when the next build ends
// is stopped. Narrow it to the specs you work on: npm run test:watch -- dist/test/download-*.spec.js
const { spawn, spawnSync } = require("node:child_process");
const path = require("node:path");

const root = path.join(__dirname, "..");
const specs = process.argv.slice(2);
const QUICK = ["--grep", "@nr|@e2e|@slow", "--invert"];
let mocha = null;

function runQuick() {
  if (mocha) mocha.kill("SIGTERM");
  spawnSync(process.execPath, [path.join(__dirname, "copy-assets.js")], { stdio: "inherit" });
  const args = [require.resolve("mocha/bin/mocha.js"), ...QUICK, ...(specs.length ? specs : ["dist/test/**/*.spec.js"])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: "inherit" });
  mocha = child;
  child.on("exit", (code, signal) => {
    if (mocha === child) mocha = null;
    if (!signal) console.log(`\n[test:watch] quick set ${code === 0 ? "passed" : "FAILED"}; watching for changes…`);
  });
}

const tsc = spawn(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.test.json", "--watch", "--preserveWatchOutput"], {
  cwd: root,
  stdio: ["ignore", "pipe", "inherit"],
});
let pending = "";
tsc.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop();
  for (const line of lines) {
    // tsc's line after each build: "… Found 0 errors. Watching for file changes."
    const m = /Found (\d+) errors?\. Watching for file changes/.exec(line);
    if (m && m[1] === "0") runQuick();
  }
});
tsc.on("exit", (code) => process.exit(code ?? 1));
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    mocha?.kill("SIGTERM");
    tsc.kill("SIGTERM");
  });
}
