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

// Node-RED turns the category "put.io" into the id "put_io" and shows it as "put io" unless a
// catalogue of the node set names it: give every node set the label (keeping any catalogue of its own).
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const localeDir = path.join(dst, "locales", "en-US");
fs.mkdirSync(localeDir, { recursive: true });
for (const set of Object.keys(pkg["node-red"].nodes)) {
  const file = path.join(localeDir, `${set}.json`);
  const catalogue = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  catalogue.palette = { ...(catalogue.palette || {}), label: { ...((catalogue.palette || {}).label || {}), put_io: "put.io" } };
  fs.writeFileSync(file, JSON.stringify(catalogue, null, 2) + "\n");
}
