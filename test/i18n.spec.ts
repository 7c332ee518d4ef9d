/**
 * The message catalogs and help files (nodes/locales/<lang>/<set>.{json,html}) against the node
 * files: every language has every key and every help file, every key is used somewhere (editor
 * .html or runtime .ts), every key the editor asks for exists, and no node .html holds literal
 * English outside the catalogs. Each check is also run against a deliberately broken copy, so a
 * check that can no longer fail fails here. No Node-RED needed: the files are read as text and
 * each registerType block is run against a stub RED.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ENGLISH } from "../lib/core/texts";

const ROOT = path.join(__dirname, "..", "..");
const NODES = path.join(ROOT, "nodes");
const BASE_LANG = "en-US";
/** Keys Node-RED itself reads: the palette category's label ("put.io", not "put io"). */
const USED_BY_NODE_RED = ["palette.label.put_io"];

type Catalog = { [k: string]: string | Catalog };

/** The node sets package.json registers, by set name ("putio-files"). */
function nodeSets(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  return Object.keys(pkg["node-red"].nodes);
}

function languages(dir: string): string[] {
  const loc = path.join(dir, "locales");
  return fs.existsSync(loc)
    ? fs
        .readdirSync(loc)
        .filter((l) => fs.statSync(path.join(loc, l)).isDirectory())
        .sort()
    : [];
}

function flatten(c: Catalog, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(c)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v as Catalog, key, out);
    else out.set(key, v);
  }
  return out;
}

function readCatalog(dir: string, lang: string, file: string): Map<string, unknown> {
  return flatten(JSON.parse(fs.readFileSync(path.join(dir, "locales", lang, file), "utf8")));
}

const placeholders = (s: string) =>
  [...s.matchAll(/__([A-Za-z0-9_]+?)__/g)]
    .map((m) => m[1])
    .sort()
    .join(",");

/** Catalog files and keys that one language has and another lacks; empty or non-text values; differing __placeholders__. */
export function catalogProblems(dir: string): string[] {
  const problems: string[] = [];
  const langs = languages(dir);
  if (!langs.includes(BASE_LANG)) return [`no locales/${BASE_LANG}`];
  const files = new Set(langs.flatMap((l) => fs.readdirSync(path.join(dir, "locales", l)).filter((f) => f.endsWith(".json"))));
  for (const set of nodeSets()) if (!files.has(`${set}.json`)) problems.push(`no catalog for node set ${set}`);
  for (const file of files) {
    const cats = new Map<string, Map<string, unknown>>();
    for (const l of langs) {
      if (!fs.existsSync(path.join(dir, "locales", l, file))) problems.push(`${l}/${file} is missing`);
      else cats.set(l, readCatalog(dir, l, file));
    }
    const allKeys = new Set([...cats.values()].flatMap((c) => [...c.keys()]));
    for (const [l, c] of cats) {
      for (const k of allKeys) if (!c.has(k)) problems.push(`${l}/${file}: no key ${k}`);
      for (const [k, v] of c) {
        if (typeof v !== "string" || !v.trim()) problems.push(`${l}/${file}: ${k} is not a text`);
        const base = cats.get(BASE_LANG)?.get(k);
        if (typeof v === "string" && typeof base === "string" && placeholders(v) !== placeholders(base)) {
          problems.push(`${l}/${file}: ${k} has placeholders [${placeholders(v)}], ${BASE_LANG} has [${placeholders(base)}]`);
        }
      }
    }
    for (const k of USED_BY_NODE_RED) if (!cats.get(BASE_LANG)?.has(k)) problems.push(`${BASE_LANG}/${file}: no key ${k}`);
  }
  return problems;
}

/** Help files: one per node set and language, holding the set's help block and nothing left in the node .html. */
export function helpProblems(dir: string): string[] {
  const problems: string[] = [];
  const langs = languages(dir);
  for (const set of nodeSets()) {
    for (const l of langs) {
      const f = path.join(dir, "locales", l, `${set}.html`);
      if (!fs.existsSync(f)) problems.push(`${l}/${set}.html is missing`);
      else if (!fs.readFileSync(f, "utf8").includes(`data-help-name="${set}"`)) problems.push(`${l}/${set}.html has no data-help-name="${set}" block`);
    }
    const html = fs.readFileSync(path.join(dir, `${set}.html`), "utf8");
    if (/data-help-name=/.test(html)) problems.push(`${set}.html still holds a help block (it belongs in locales/<lang>/${set}.html)`);
  }
  return problems;
}

/** Drops comments and gives each string literal of a piece of JavaScript (regex literals are not expected to hold quotes). */
function jsStrings(code: string): Array<{ value: string; before: string }> {
  const out: Array<{ value: string; before: string }> = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i];
    if (c === "/" && code[i + 1] === "/") i = code.indexOf("\n", i) < 0 ? code.length : code.indexOf("\n", i);
    else if (c === "/" && code[i + 1] === "*") i = code.indexOf("*/", i + 2) + 2;
    else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      let value = "";
      while (j < code.length && code[j] !== c) {
        if (code[j] === "\\") j++;
        value += code[j++];
      }
      out.push({ value, before: code.slice(Math.max(0, i - 40), i) });
      i = j + 1;
    } else i++;
  }
  return out;
}

/** A literal that reads as a catalog key or key prefix: "putio-files.status.listing", "x.action.", "ns:putio-zip.label.x". */
const KEY_SHAPED = /^([\w@/-]+:)?[\w-]+(\.[\w-]+)+\.?$|^[\w-]+\.$/;

/** Keys used in the editor (.html) and the runtime (.ts): exact keys, and prefixes ("x.action." + value). */
function usedKeys(dir: string): { exact: Set<string>; prefixes: Set<string>; editor: Set<string>; editorPrefixes: Set<string> } {
  const exact = new Set<string>(USED_BY_NODE_RED);
  // lib/'s error texts are looked up by code (common.errors.<code>): a code lib/ has is a key in use.
  for (const code of Object.keys(ENGLISH)) exact.add(`common.errors.${code}`);
  const prefixes = new Set<string>();
  const editor = new Set<string>();
  const editorPrefixes = new Set<string>();
  const add = (raw: string, fromEditor: boolean) => {
    const key = raw.replace(/^[^:\s]*:/, "");
    if (key.endsWith(".")) {
      prefixes.add(key);
      if (fromEditor) editorPrefixes.add(key);
    } else {
      exact.add(key);
      if (fromEditor) editor.add(key);
    }
  };
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".html"))) {
    const html = fs.readFileSync(path.join(dir, f), "utf8");
    for (const m of html.matchAll(/data-i18n="([^"]*)"/g)) for (const k of m[1].split(";")) add(k.replace(/^\[[^\]]*\]/, ""), true);
    for (const s of jsStrings([...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join("\n"))) {
      // _("key"), and keys chosen before the call: _(a ? "x.one" : "x.two").
      if (/\b_\(\s*$/.test(s.before) || (KEY_SHAPED.test(s.value) && s.value.startsWith("putio-"))) add(s.value, true);
    }
  }
  const walk = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? (e.name === "locales" ? [] : walk(path.join(d, e.name))) : e.name.endsWith(".ts") ? [path.join(d, e.name)] : []));
  for (const f of walk(dir)) {
    // The runtime may pass a key to RED._ or keep it in a constant ("putio-files.status.listing"): any literal shaped like a key counts.
    for (const s of jsStrings(fs.readFileSync(f, "utf8"))) if (KEY_SHAPED.test(s.value)) add(s.value, false);
  }
  return { exact, prefixes, editor, editorPrefixes };
}

/** Catalog keys nothing uses, and keys the editor asks for that the en-US catalogs lack. */
export function keyUseProblems(dir: string): string[] {
  const problems: string[] = [];
  const { exact, prefixes, editor, editorPrefixes } = usedKeys(dir);
  const known = new Set<string>();
  const locDir = path.join(dir, "locales", BASE_LANG);
  for (const file of fs.existsSync(locDir) ? fs.readdirSync(locDir).filter((f) => f.endsWith(".json")) : []) {
    for (const k of readCatalog(dir, BASE_LANG, file).keys()) {
      known.add(k);
      if (!exact.has(k) && ![...prefixes].some((p) => k.startsWith(p))) problems.push(`${BASE_LANG}/${file}: ${k} is used nowhere`);
    }
  }
  for (const k of editor) if (!known.has(k)) problems.push(`the editor uses ${k}, which no ${BASE_LANG} catalog has`);
  for (const p of editorPrefixes) if (![...known].some((k) => k.startsWith(p))) problems.push(`the prefix ${p} matches no ${BASE_LANG} key`);
  return problems;
}

const VOID = new Set(["input", "br", "hr", "img", "meta", "link"]);
/** Text that is not a word to translate: URLs, ${ENV} examples. */
const hasWords = (s: string) =>
  /\p{L}/u.test(
    s
      .replace(/&[a-z]+;|&#\d+;/g, " ")
      .replace(/(https?|wss?):\/\/\S*/g, " ")
      .replace(/\$\{[^}]*\}/g, " "),
  );

/** Literal text in a data-template-name block: text nodes, placeholder and title attributes not covered by data-i18n. */
function templateLiterals(template: string): string[] {
  const found: string[] = [];
  const stack: Array<{ tag: string; i18n: string; value?: string }> = [];
  const covered = (attr: string) =>
    stack.some((e) =>
      e.i18n
        .split(";")
        .filter(Boolean)
        .some((k) => (attr === "text" ? !k.startsWith("[") || k.startsWith("[html]") : k.startsWith(`[${attr}]`))),
    );
  for (const m of template.matchAll(/<(\/?)([a-zA-Z0-9-]+)([^>]*)>|([^<]+)/g)) {
    if (m[4] !== undefined) {
      const text = m[4].trim();
      const top = stack[stack.length - 1];
      // An option whose text is its value in capitals (GET, JSON) is a name, not English ("move" is English).
      const name = top?.tag === "option" && top.value?.toLowerCase() === text.toLowerCase() && text === text.toUpperCase();
      if (text && hasWords(text) && !covered("text") && !name) found.push(`text "${text}"`);
      continue;
    }
    const [, close, tagRaw, attrs] = m;
    const tag = tagRaw.toLowerCase();
    if (close) {
      const at = stack.map((e) => e.tag).lastIndexOf(tag);
      if (at >= 0) stack.length = at;
      continue;
    }
    const attr = (name: string) => attrs.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];
    const entry = { tag, i18n: attr("data-i18n") ?? "", value: attr("value") };
    stack.push(entry);
    for (const a of ["placeholder", "title"]) {
      const v = attr(a);
      if (v !== undefined && hasWords(v) && !covered(a)) found.push(`${a}="${v}" on <${tag}>`);
    }
    if (VOID.has(tag) || attrs.trim().endsWith("/")) stack.pop();
  }
  return found;
}

/**
 * Labels a registerType block produces: its paletteLabel, label, inputLabels and outputLabels run
 * against a stub node (defaults, then each option value of each select) whose _() marks the key;
 * anything left with letters outside the marks is literal. Plus string literals in the block that
 * read as English (a space and a word, or a capitalised word) and are not the key of a _() call.
 */
function definitionLiterals(script: string, template: string): string[] {
  const found: string[] = [];
  const defs: Array<{ type: string; def: Record<string, unknown> }> = [];
  const stubRED = {
    nodes: { registerType: (type: string, def: Record<string, unknown>) => defs.push({ type, def }) },
    validators: { number: () => () => true, regex: () => () => true, typedInput: () => () => true },
    // Editor-wide hooks a definition file registers (putio-account.html's import hook).
    events: { on: () => {} },
    _: (k: string) => `\u0001${k}\u0001`,
  };
  new Function("RED", "$", script)(stubRED, () => ({}));
  const selects = [...template.matchAll(/<select id="node-(?:config-)?input-(\w+)"[^>]*>([\s\S]*?)<\/select>/g)].map((m) => ({
    prop: m[1],
    values: [...m[2].matchAll(/value="([^"]*)"/g)].map((v) => v[1]),
  }));
  for (const { type, def } of defs) {
    const _ = (k: string) => `\u0001${k}\u0001`;
    const base: Record<string, unknown> = { _, type };
    for (const [k, d] of Object.entries((def.defaults as Record<string, { value?: unknown }>) ?? {})) base[k] = d.value;
    const nodes = [base, ...selects.flatMap((s) => s.values.map((v) => ({ ...base, [s.prop]: v })))];
    const check = (what: string, v: unknown) => {
      const rest = String(v ?? "").replace(/\u0001[^\u0001]*\u0001/g, "");
      if (hasWords(rest)) found.push(`${type} ${what} gives "${String(v).replace(/\u0001/g, "⟦")}"`);
    };
    const run = (prop: string, args: unknown[][]) => {
      const v = def[prop];
      if (v === undefined) return;
      if (typeof v !== "function") return void [v].flat().forEach((x) => check(prop, x));
      for (const n of prop === "paletteLabel" ? [{ ...def, _ }] : nodes) for (const a of args) check(prop, (v as (...x: unknown[]) => unknown).apply(n, a));
    };
    run("paletteLabel", [[]]);
    run("label", [[]]);
    const ports = (n: unknown) => [...Array(Number(n) || 0).keys()].map((i) => [i]);
    run("inputLabels", ports(def.inputs));
    run("outputLabels", ports(Math.max(Number(def.outputs) || 0, 2)));
  }
  for (const s of jsStrings(script)) {
    if (/\b_\(\s*$/.test(s.before)) continue;
    // A config node type a property points at (core's "http proxy") is a name, not a text.
    if (/\btype:\s*$/.test(s.before)) continue;
    if (/\p{L}{2,}\s+\p{L}/u.test(s.value) || /^\p{Lu}\p{Ll}/u.test(s.value)) found.push(`string literal "${s.value}"`);
  }
  return found;
}

/** Literal English in the node .html files. */
export function literalTextProblems(dir: string): string[] {
  const problems: string[] = [];
  for (const set of nodeSets()) {
    const html = fs.readFileSync(path.join(dir, `${set}.html`), "utf8");
    const templates = [...html.matchAll(/<script type="text\/html" data-template-name="[^"]*">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join("\n");
    for (const t of templateLiterals(templates)) problems.push(`${set}.html template: ${t}`);
    const script = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join("\n");
    for (const t of definitionLiterals(script, templates)) problems.push(`${set}.html definition: ${t}`);
  }
  return [...new Set(problems)];
}

/** The node .ts files (nodes/ and nodes/common/): the runtime side of the nodes. */
function runtimeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of ["", "common"]) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) if (f.endsWith(".ts") && !f.endsWith(".d.ts")) out.push(path.join(d, f));
  }
  return out;
}

const RUNTIME_KEY = /["'`]((?:putio-[a-z-]+|common)\.(?:status|errors|op|warn|log|messages)\.[A-Za-z0-9.-]+)["'`]/g;
/** Calls that put a text before the user (status, log, warn, error, thrown errors) with a literal text in them. */
const LITERAL_TEXT = [
  /STATUS\.\w+\(\s*["'`]/,
  /\.(?:warn|error|log)\(\s*["'`]/,
  /new Putio\w*Error\(\s*["'`]/,
  /new Putio\w*Error\(\s*[^,()]+(?:\([^()]*\))?,\s*["'`]/,
  /new Error\(\s*["'`]/,
  /\btext:\s*["'`][^"'`]*\p{L}/u,
];

/** Runtime keys a node .ts uses that no catalog has, and literal texts shown to users from a node .ts. */
export function runtimeTextProblems(dir: string): string[] {
  const problems: string[] = [];
  const known = new Set<string>();
  const locDir = path.join(dir, "locales", BASE_LANG);
  for (const file of fs.existsSync(locDir) ? fs.readdirSync(locDir).filter((f) => f.endsWith(".json")) : []) {
    for (const k of readCatalog(dir, BASE_LANG, file).keys()) known.add(k);
  }
  for (const file of runtimeFiles(dir)) {
    const name = path.relative(dir, file);
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(RUNTIME_KEY)) if (!known.has(m[1]!)) problems.push(`${name}:${i + 1} uses ${m[1]}, which no ${BASE_LANG} catalog has`);
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
      for (const re of LITERAL_TEXT) if (re.test(line)) problems.push(`${name}:${i + 1} shows a literal text: ${line.trim().slice(0, 120)}`);
    });
  }
  return problems;
}

describe("i18n: message catalogs and help files", () => {
  it("every language has every catalog file and key (recursively), as text with the same __placeholders__", () => {
    assert.deepEqual(catalogProblems(NODES), []);
  });
  it("every language has a help file for every node set, and no node .html keeps its help", () => {
    assert.deepEqual(helpProblems(NODES), []);
  });
  it("every catalog key is used (editor .html or runtime .ts), and every key the editor uses exists", () => {
    assert.deepEqual(keyUseProblems(NODES), []);
  });
  it("no node .html holds literal text outside the catalogs", () => {
    assert.deepEqual(literalTextProblems(NODES), []);
  });
  it("every runtime text of a node .ts comes from the catalogs, and every key it names exists", () => {
    assert.deepEqual(runtimeTextProblems(NODES), []);
  });
  it("the build copies the catalogs and help files beside the node .js files", () => {
    const dist = path.join(ROOT, "dist", "nodes", "locales");
    for (const l of languages(NODES)) {
      for (const f of fs.readdirSync(path.join(NODES, "locales", l))) {
        assert.equal(
          fs.readFileSync(path.join(dist, l, f), "utf8"),
          fs.readFileSync(path.join(NODES, "locales", l, f), "utf8"),
          `dist/nodes/locales/${l}/${f}`,
        );
      }
    }
  });

  describe("each check fails on a broken copy", () => {
    let tmp: string;
    beforeEach(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "putio-i18n-"));
      fs.cpSync(NODES, tmp, { recursive: true });
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const set = "putio-files";
    const other = languages(NODES).find((l) => l !== BASE_LANG) ?? "de";
    const edit = (file: string, change: (s: string) => string) => fs.writeFileSync(path.join(tmp, file), change(fs.readFileSync(path.join(tmp, file), "utf8")));
    const editJson = (file: string, change: (c: any) => void) =>
      edit(file, (s) => {
        const c = JSON.parse(s);
        change(c);
        return JSON.stringify(c);
      });

    it("a key one language lacks, a nested key, a missing catalog, a lost placeholder", () => {
      editJson(`locales/${other}/${set}.json`, (c) => {
        delete c[set].paletteLabel;
      });
      editJson(`locales/${BASE_LANG}/${set}.json`, (c) => {
        c[set].extra = { deep: { er: "x" } };
      });
      fs.rmSync(path.join(tmp, "locales", other, "putio-zip.json"));
      editJson(`locales/${other}/putio-account.json`, (c) => {
        c["putio-account"].login.connected = "kein Platzhalter";
      });
      const p = catalogProblems(tmp).join("\n");
      assert.match(p, new RegExp(`${other}/${set}.json: no key ${set}.paletteLabel`));
      assert.match(p, new RegExp(`${other}/${set}.json: no key ${set}.extra.deep.er`));
      assert.match(p, new RegExp(`${other}/putio-zip.json is missing`));
      assert.match(p, /putio-account.login.connected has placeholders/);
    });
    it("a missing help file, and a help block left in a node .html", () => {
      fs.rmSync(path.join(tmp, "locales", other, `${set}.html`));
      edit("putio-zip.html", (s) => s + `\n<script type="text/html" data-help-name="putio-zip"><p>Help</p></script>\n`);
      const p = helpProblems(tmp).join("\n");
      assert.match(p, new RegExp(`${other}/${set}.html is missing`));
      assert.match(p, /putio-zip.html still holds a help block/);
    });
    it("an unused key, and a key the editor uses that does not exist", () => {
      editJson(`locales/${BASE_LANG}/${set}.json`, (c) => {
        c[set].label.neverUsed = "Never used";
      });
      edit(`${set}.html`, (s) => s.replace(`data-i18n="${set}.label.account"`, `data-i18n="${set}.label.acount"`));
      const p = keyUseProblems(tmp).join("\n");
      assert.match(p, new RegExp(`${set}.label.neverUsed is used nowhere`));
      assert.match(p, new RegExp(`the editor uses ${set}.label.acount`));
      // A key the runtime uses counts as used.
      fs.writeFileSync(path.join(tmp, "x.ts"), `RED._("${set}.label.neverUsed");`);
      assert.doesNotMatch(keyUseProblems(tmp).join("\n"), /neverUsed/);
    });
    it("a literal status, warning or error text in a node .ts, and a runtime key no catalog has", () => {
      edit(
        `${set}.ts`,
        (s) =>
          s +
          `\nnode.status(STATUS.busy("reading"));\nnode.warn(\`nothing here\`);\nthrow new PutioInputError("get file", x);\nthrow new PutioInputError(t("a"), "no id");\n` +
          `node.status({ fill: "red", text: "broken" });\nstatus(text("putio-files.status.nowhere"));\n`,
      );
      const p = runtimeTextProblems(tmp).join("\n");
      for (const want of [
        /busy\("reading"\)/,
        /warn\(`nothing here`\)/,
        /PutioInputError\("get file"/,
        /"no id"/,
        /text: "broken"/,
        /uses putio-files.status.nowhere/,
      ])
        assert.match(p, want);
      assert.equal(runtimeTextProblems(tmp).length, runtimeTextProblems(NODES).length + 6, p);
    });
    it("literal text, placeholder and title in a template; a literal label, palette label and output label", () => {
      edit(`${set}.html`, (s) =>
        s
          .replace(/(<div class="form-row">)/, `$1<span>Plain words</span><input type="text" placeholder="type here" title="A tip">`)
          .replace(/paletteLabel: function \(\) \{[\s\S]*?\},\n/, `paletteLabel: "files",\n`)
          .replace(/label: function \(\) \{/, `outputLabels: ["the files"],\n        label: function () { if (this.name === "x") return "Some files";`),
      );
      const p = literalTextProblems(tmp).join("\n");
      for (const want of [
        /text "Plain words"/,
        /placeholder="type here"/,
        /title="A tip"/,
        /paletteLabel gives "files"/,
        /outputLabels gives "the files"/,
        /string literal "Some files"/,
      ])
        assert.match(p, want);
    });
  });
});
