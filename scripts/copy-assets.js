// tsc compiles nodes/*.ts to dist/nodes/*.js; Node-RED wants each node's .html, its message catalogs
// and help (nodes/locales/<lang>/<set>.{json,html}) and the icons beside that .js, so copy them there
// after every build. (Each catalog names the palette category: Node-RED shows the category id
// "put_io" as "put io" unless a catalog has palette.label.put_io; test/i18n.spec.ts checks they do.)
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const src = path.join(root, "nodes");
const dst = path.join(root, "dist", "nodes");
fs.mkdirSync(dst, { recursive: true });
for (const f of fs.readdirSync(src)) {
  if (f.endsWith(".html")) fs.copyFileSync(path.join(src, f), path.join(dst, f));
}
// A fresh copy: a catalog or help file removed from the sources must not linger in dist.
fs.rmSync(path.join(dst, "locales"), { recursive: true, force: true });
fs.cpSync(path.join(src, "locales"), path.join(dst, "locales"), { recursive: true });
const icons = path.join(root, "icons");
// Fresh as well: a renamed icon must not be packed under its old name too.
fs.rmSync(path.join(dst, "icons"), { recursive: true, force: true });
if (fs.existsSync(icons)) fs.cpSync(icons, path.join(dst, "icons"), { recursive: true });
