// tsc compiles nodes/*.ts to dist/nodes/*.js; Node-RED wants each node's .html (and locales, icons)
// beside that .js, so copy them there after every build.
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const src = path.join(root, "nodes");
const dst = path.join(root, "dist", "nodes");
fs.mkdirSync(dst, { recursive: true });
for (const f of fs.readdirSync(src)) {
  if (f.endsWith(".html")) fs.copyFileSync(path.join(src, f), path.join(dst, f));
}
for (const d of ["locales"]) {
  const s = path.join(src, d);
  if (fs.existsSync(s)) fs.cpSync(s, path.join(dst, d), { recursive: true });
}
const icons = path.join(root, "icons");
if (fs.existsSync(icons)) fs.cpSync(icons, path.join(dst, "icons"), { recursive: true });
