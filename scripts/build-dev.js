// `npm start` / `npm run emulator`: build only what changed. tsc --incremental keeps its state in
// dist/ (deleted with dist, so a clean build follows a clean), and is skipped altogether when no
// TypeScript source or tsconfig is newer than that state. The assets are copied every time (cheap).
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const info = path.join(root, "dist", ".tsbuildinfo.dev");

function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith(".ts")) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

const built = fs.existsSync(info) ? fs.statSync(info).mtimeMs : 0;
const sources = Math.max(
  ...["lib", "nodes", "test", "bench", "scripts"].map((d) => (fs.existsSync(path.join(root, d)) ? newest(path.join(root, d)) : 0)),
  ...["tsconfig.json", "tsconfig.test.json", "tsconfig.base.json", "package.json"].map((f) => fs.statSync(path.join(root, f)).mtimeMs),
);
if (!built || sources > built) {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.test.json", "--incremental", "--tsBuildInfoFile", info], {
    cwd: root,
    stdio: "inherit",
  });
  // tsc leaves the state file untouched when nothing needed emitting: mark this check as done.
  if (fs.existsSync(info)) {
    const now = new Date();
    fs.utimesSync(info, now, now);
  }
} else {
  console.log("[build] nothing changed since the last build: tsc skipped");
}
require("./copy-assets.js");
