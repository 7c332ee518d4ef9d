/**
 * lib/'s errors as texts by code (lib/core/texts.ts): every code is used and every used code has
 * English, no error of lib/ is built from a literal English string, the en-US catalog is lib's
 * English, a German lookup through Node-RED's own i18next renders a nested API error in German with
 * put.io's text untouched, and the token never reaches a message, a text or a parameter. The
 * source scans also run against broken copies, so a scan that can no longer fail fails here.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { startEmulator, type Emulator } from "./emulator";
import {
  ENGLISH,
  PutioBaseError,
  PutioClient,
  PutioError,
  PutioInputError,
  PutioNetworkError,
  PutioRateLimitError,
  PutioSchemaError,
  PutioTimeoutError,
  PutioTransferIntegrityError,
  isText,
  redact,
  redactError,
  render,
  t,
  type Text,
} from "../lib";

const ROOT = path.join(__dirname, "..", "..");
const LIB = path.join(ROOT, "lib");
/** Node-RED's namespace of the catalog that holds common.errors. */
const NS = "@putflow/node-red-putio/putio-account";

type Sources = Map<string, string>;

function libSources(): Sources {
  const out: Sources = new Map();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith(".ts")) out.set(path.relative(ROOT, f), fs.readFileSync(f, "utf8"));
    }
  };
  walk(LIB);
  return out;
}

/** Source without comments, so a code named only in a comment does not count as used. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

const GROUPS = new Set(Object.keys(ENGLISH).map((c) => c.split(".")[0]));
/** A string literal shaped like a code of one of ENGLISH's groups ("input.no-file-ids"). */
function codeLiterals(src: string): string[] {
  return [...stripComments(src).matchAll(/"([a-z0-9]+(?:\.[a-z0-9-]+)+|plain)"/g)].map((m) => m[1]!).filter((c) => GROUPS.has(c.split(".")[0]!));
}

/**
 * Codes of `english` that no source names (dead), and codes given to t() that `english` lacks
 * (they would render as the code): every string literal in t()'s first argument (a ternary too).
 */
export function codeProblems(sources: Sources, english: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const [file, raw] of sources) {
    if (file.endsWith(path.join("core", "texts.ts"))) continue;
    for (const c of codeLiterals(raw)) used.add(c);
    const src = stripComments(raw);
    for (const m of src.matchAll(/\bt\(/g)) {
      const first = callArgs(src, m.index! + 1)[0] ?? "";
      // A literal compared with (`code === "ENOSPC" ? … : …`) is a condition, not a code.
      for (const lit of first.matchAll(/(==\s*)?"([^"]*)"/g))
        if (!lit[1] && !Object.prototype.hasOwnProperty.call(english, lit[2]!)) problems.push(`${file}: "${lit[2]}" has no English`);
    }
  }
  for (const c of Object.keys(english)) if (!used.has(c)) problems.push(`${c} is used nowhere in lib/`);
  return problems;
}

/** The argument texts of a call whose "(" is at `open`: split at top-level commas; strings, templates and comments skipped. */
export function callArgs(src: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  let i = open;
  const skipString = (q: string): void => {
    i++;
    while (i < src.length && src[i] !== q) {
      if (src[i] === "\\") i++;
      else if (q === "`" && src[i] === "$" && src[i + 1] === "{") {
        // ${…} inside a template: skip to its closing brace, strings in it included.
        i += 2;
        let d = 1;
        while (i < src.length && d > 0) {
          const ch = src[i]!;
          if (ch === '"' || ch === "'" || ch === "`") skipString(ch);
          else if (ch === "{") d++;
          else if (ch === "}") d--;
          i++;
        }
        continue;
      }
      i++;
    }
  };
  for (; i < src.length; i++) {
    const c = src[i]!;
    if (c === '"' || c === "'" || c === "`") skipString(c);
    else if (c === "/" && src[i + 1] === "/") i = src.indexOf("\n", i);
    else if (c === "/" && src[i + 1] === "*") i = src.indexOf("*/", i) + 1;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) {
      depth--;
      if (depth === 0) {
        const last = src.slice(start, i).trim();
        if (last) args.push(last);
        return args;
      }
    } else if (c === "," && depth === 1) {
      args.push(src.slice(start, i).trim());
      start = i + 1;
    }
    if (i < 0) break;
  }
  return args;
}

/** Which arguments of each error class are texts (attempted first, then its message, problem or hint). */
const TEXT_ARGS: Record<string, number[]> = {
  PutioBaseError: [0, 1],
  PutioInputError: [0, 1],
  PutioTransferIntegrityError: [0, 1],
  PutioError: [0, 2],
  PutioRateLimitError: [0],
  PutioNetworkError: [0],
  PutioTimeoutError: [0],
  PutioAbortError: [0],
  PutioSchemaError: [0, 2],
};
const isLiteral = (arg: string) => /^["'`]/.test(arg);

/**
 * `new Putio…Error(` whose attempted phrase or message is a string or template literal, and
 * English written into an envelope (`error_message: "…"`) or a request (`attempted: "…"`).
 */
export function literalProblems(sources: Sources): string[] {
  const problems: string[] = [];
  for (const [file, raw] of sources) {
    const src = stripComments(raw);
    for (const m of src.matchAll(/new (Putio\w*Error)\(/g)) {
      const args = callArgs(src, m.index! + m[0].length - 1);
      const which = TEXT_ARGS[m[1]!] ?? [0, 1];
      for (const n of which) if (args[n] !== undefined && isLiteral(args[n]!)) problems.push(`${file}: new ${m[1]}(…) has a literal: ${args[n]!.slice(0, 60)}`);
    }
    for (const m of src.matchAll(/\b(error_message|attempted):\s*(["'`])(.)/g)) {
      if (m[3] !== m[2]) problems.push(`${file}: ${m[1]} is a literal`);
    }
  }
  return problems;
}

function flatten(c: Record<string, unknown>, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(c)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object") flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

function catalog(lang: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "nodes", "locales", lang, "putio-account.json"), "utf8")) as Record<string, unknown>;
}

function errorsOf(lang: string): Record<string, unknown> {
  return flatten(((catalog(lang).common as Record<string, unknown>)?.errors ?? {}) as Record<string, unknown>);
}

interface I18n {
  t(key: string, params?: Record<string, unknown>): string;
  exists(key: string): boolean;
}

/** An i18next set up as Node-RED sets up its own (same package, same options), holding the three catalogs. */
async function nodeRedI18n(lang: string): Promise<I18n> {
  // The i18next Node-RED itself loads, so the test sees its interpolation and nesting.
  const i18next = require(require.resolve("i18next", { paths: [path.dirname(require.resolve("@node-red/util/package.json"))] }));
  const i = (i18next.default ?? i18next).createInstance();
  await i.init({
    lng: lang,
    fallbackLng: "en-US",
    defaultNS: "runtime",
    ns: [NS],
    keySeparator: ".",
    nsSeparator: ":",
    showSupportNotice: false,
    interpolation: { unescapeSuffix: "HTML", escapeValue: false, prefix: "__", suffix: "__" },
    resources: Object.fromEntries(["en-US", "de", "tr"].map((l) => [l, { [NS]: catalog(l) }])),
  });
  return i as I18n;
}

/** The lookup the kernel gives render(): Node-RED's RED._ against common.errors.<code>. */
function lookupOf(i18n: I18n): (code: string, params: Record<string, string | number>) => string | undefined {
  return (code, params) => {
    const key = `${NS}:common.errors.${code}`;
    return i18n.exists(key) ? i18n.t(key, params) : undefined;
  };
}

describe("error texts by code", function () {
  describe("lib/ and ENGLISH", () => {
    it("every code of ENGLISH is used in lib/, and every code lib/ names has English", () => {
      assert.deepEqual(codeProblems(libSources(), ENGLISH), []);
    });
    it("no error of lib/ is made from a literal English string", () => {
      assert.deepEqual(literalProblems(libSources()), []);
    });
    it("no code is the prefix of another (the catalogs nest them by the dots)", () => {
      const codes = Object.keys(ENGLISH);
      for (const c of codes) assert.ok(!codes.some((o) => o.startsWith(c + ".")), c);
      for (const c of codes) assert.match(c, /^(plain|[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*)+)$/, c);
    });
    it("the en-US catalog's common.errors is ENGLISH, and de and tr translate every code", () => {
      assert.deepEqual(errorsOf("en-US"), { ...ENGLISH });
      for (const lang of ["de", "tr"]) {
        const c = errorsOf(lang);
        assert.deepEqual(Object.keys(c).sort(), Object.keys(ENGLISH).sort(), lang);
        // A few that must differ from English: a translation, not a copy.
        for (const code of ["hint.404", "op.list-folder", "input.no-file-ids", "download.size-mismatch"])
          assert.notEqual(c[code], ENGLISH[code], `${lang} ${code}`);
      }
    });

    describe("each scan fails on a broken copy", () => {
      it("a dead code, and a code without English", () => {
        const src: Sources = new Map([
          [
            "lib/x.ts",
            `throw new PutioInputError(t("op.a"), t(x === "E" ? "input.b" : "input.c", { a: "d" }));\nconst n = "upload.torrent"; // "op.dead" named in a comment only`,
          ],
        ]);
        const p = codeProblems(src, { "op.a": "a", "input.b": "b", "op.dead": "d" }).join("\n");
        assert.match(p, /op\.dead is used nowhere/);
        assert.match(p, /"input\.c" has no English/);
        assert.doesNotMatch(p, /op\.a|input\.b"|upload\.torrent|"d"/);
      });
      it("literal messages, attempted phrases and envelope texts", () => {
        const src: Sources = new Map([
          [
            "lib/x.ts",
            [
              `throw new PutioInputError(attempted, "the name is empty");`,
              `throw new PutioBaseError(t("op.x", { a: "b" }), \`failed after \${n(",")} tries\`, { cause });`,
              `throw new PutioInputError(\`find "\${p}"\`, t("input.y"));`,
              `throw new PutioError(op, { status_code: 1, error_type: "X", error_message: "lib English" }, "a hint");`,
              `await t.request({ path: "/v2/x", attempted: "do x" });`,
              `throw new PutioInputError(op, t("input.z", { path: "q, r" }));`,
              `throw new PutioBaseError(t("op.download-job"), String(err));`,
              `throw new PutioError(op, { status_code: 1, error_type: "X", error_message: "" }, undefined, { detail: t("api.y") });`,
            ].join("\n"),
          ],
        ]);
        const p = literalProblems(src);
        assert.equal(p.length, 6, p.join("\n"));
        assert.match(p.join("\n"), /PutioInputError\(…\) has a literal: "the name is empty"/);
        assert.match(p.join("\n"), /PutioBaseError\(…\) has a literal: `failed after/);
        assert.match(p.join("\n"), /PutioInputError\(…\) has a literal: `find/);
        assert.match(p.join("\n"), /PutioError\(…\) has a literal: "a hint"/);
        assert.match(p.join("\n"), /error_message is a literal/);
        assert.match(p.join("\n"), /attempted is a literal/);
      });
    });
  });

  describe("render", () => {
    it("renders nested texts first, keeps unknown placeholders, and a code without English renders as itself", () => {
      assert.equal(render(t("input.no-file-ids", { attempted: t("op.delete-files", { count: 3 }) })), "delete 3 files: no file ids given");
      assert.equal(render(t("op.list-folder")), "list folder __id__");
      assert.equal(render(t("no.such-code", { a: 1 })), "no.such-code");
      assert.equal(render(t("plain", { text: "as it is" })), "as it is");
    });
    it("puts every value in verbatim, once: a value shaped like a placeholder or an i18next nesting is not expanded (fast-check)", async () => {
      const i18n = await nodeRedI18n("de");
      const hostile = fc.oneof(fc.string(), fc.constantFrom("__attempted__", "__id__", "$t(common.errors.hint.401)", "__text__ __name__", "\uE000name\uE001"));
      fc.assert(
        fc.property(hostile, hostile, (name, detail) => {
          const text = t("input.cannot-read", { attempted: t("op.upload", { name }), path: name, detail });
          const english = `upload "${name}": cannot read ${name}: ${detail}`;
          assert.equal(render(text), english);
          assert.equal(
            render(text, (code) => ENGLISH[code]),
            english,
          );
          assert.equal(render(text, lookupOf(i18n)), `„${name}“ hochladen: ${name} kann nicht gelesen werden: ${detail}`);
        }),
        { numRuns: 300 },
      );
    });
    it("a lookup that throws or answers nothing falls back to English", () => {
      const text = t("op.list-folder", { id: 7 });
      assert.equal(
        render(text, () => {
          throw new Error("catalog broken");
        }),
        "list folder 7",
      );
      assert.equal(
        render(text, () => undefined),
        "list folder 7",
      );
    });
    it("a text that nests itself renders without end", () => {
      const loop: { code: string; params: Record<string, unknown> } = { code: "input.other", params: {} };
      loop.params.attempted = loop;
      loop.params.problem = "x";
      assert.match(render(loop as unknown as Text), /…/);
    });
  });

  describe("errors", () => {
    let emu: Emulator;
    let c: PutioClient;
    beforeEach(async () => {
      emu = await startEmulator();
      c = new PutioClient({ apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, token: emu.token, retry: { retries: 0, baseDelayMs: 5, maxDelayMs: 20 } });
    });
    afterEach(async () => {
      await c.close();
      await emu.close();
    });

    it("put.io's 404 is api.failed with the attempted, put.io's message, the type, the status and the hint as params, in German through Node-RED's i18next", async () => {
      const err = await c.files.get(987654).then(
        () => assert.fail("no error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof PutioError, String(err));
      assert.equal(err.code, "api.failed");
      // Own properties: Node-RED's catch node copies an error's own `code` into msg.error.code.
      assert.ok(Object.prototype.hasOwnProperty.call(err, "code"));
      assert.deepEqual(err.params?.attempted, t("op.get-file", { id: 987654 }));
      assert.deepEqual(err.params?.hint, t("hint.404"));
      assert.equal(err.params?.status, 404);
      assert.equal(render(err.text), err.message);
      assert.equal(err.attempted, "get file 987654");
      assert.deepEqual(err.attemptedText, t("op.get-file", { id: 987654 }));
      // put.io's own text is a plain parameter: shown as it is in every language.
      const detail = err.params?.detail as Text;
      assert.equal(detail.code, "plain");
      assert.equal(detail.params?.text, err.errorMessage);

      const de = render(err.text, lookupOf(await nodeRedI18n("de")));
      assert.equal(
        de,
        `put.io: Datei 987654 abrufen ist fehlgeschlagen: ${err.errorMessage} (${err.errorType}, HTTP 404). Es existiert (nicht mehr) auf put.io.`,
      );
      const tr = render(err.text, lookupOf(await nodeRedI18n("tr")));
      assert.match(tr, /^put\.io: 987654 numaralı dosyayı alma başarısız oldu: .* put\.io'da \(artık\) yok\.$/);
    });

    it("put.io's own error_message is never translated, even when it looks like a code or a placeholder", async () => {
      const err = new PutioError(t("op.list-folder", { id: 12 }), {
        status_code: 400,
        error_type: "hint.401",
        error_message: "__hint__ $t(common.errors.hint.401) hint.404",
      });
      const de = render(err.text, lookupOf(await nodeRedI18n("de")));
      assert.equal(
        de,
        "put.io: Ordner 12 auflisten ist fehlgeschlagen: __hint__ $t(common.errors.hint.401) hint.404 (hint.401, HTTP 400). Prüfen Sie die gesendeten Werte.",
      );
    });

    it("an input error's code is its problem, with the attempted phrase as a param; strings from outside lib/ pass through", () => {
      const e = new PutioInputError(t("op.delete-files", { count: 2 }), t("input.no-file-ids"));
      assert.equal(e.code, "input.no-file-ids");
      assert.equal(e.message, "delete 2 files: no file ids given");
      assert.equal(e.attempted, "delete 2 files");
      const s = new PutioInputError("rename", "no new name");
      assert.equal(s.message, "rename: no new name");
      assert.equal(s.code, "input.other");
      assert.deepEqual(s.params, { problem: "no new name", attempted: t("plain", { text: "rename" }) });
      const b = new PutioBaseError("use put.io", "No account.");
      assert.equal(b.code, "plain");
      assert.equal(b.message, "No account.");
      const i = new PutioTransferIntegrityError(t("op.download", { name: "a" }), t("download.no-free-name", { name: "a", dir: "/d" }));
      assert.equal(i.message, 'download "a": no free name for "a" in "/d"');
    });

    it("each kind has its code: network (with systemCode), timeout, rate limit, schema", () => {
      const op = t("op.list-transfers");
      const net = new PutioNetworkError(op, Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), false);
      assert.equal(net.code, "network.failed");
      assert.equal(net.systemCode, "ECONNREFUSED");
      assert.equal(net.message, "put.io: list transfers failed: network error (ECONNREFUSED). Check the network connection and the API address.");
      assert.equal(new PutioNetworkError(op, new Error("socket hang up"), true).code, "network.maybe-taken-effect");
      assert.equal(new PutioTimeoutError(op, "headers").code, "timeout.headers");
      const rl = new PutioRateLimitError(op, { status_code: 429, error_type: "TOO_MANY", error_message: "slow down" }, "https://app.put.io/captcha/1", null);
      assert.deepEqual(rl.params?.hint, t("hint.captcha", { url: "https://app.put.io/captcha/1" }));
      const sc = new PutioSchemaError(op, "", t("schema.not-json", { bytes: 3 }));
      assert.equal(sc.message, "put.io: list transfers: unexpected answer: (body) is not JSON (3 bytes). The put.io API may have changed; please report this.");
    });
  });

  describe("the token", () => {
    // put.io tokens are upper-case letters and digits; these never occur in an English template.
    const token = fc.stringMatching(/^[A-Z2-7]{16,40}$/);
    const around = fc.string({ maxLength: 20 }).map((s) => s.replace(/[A-Z2-7]/g, "").replace(/\s/g, " "));

    it("never appears in the message, text, params or attempted phrase of an error made from a URL or header holding it (fast-check)", () => {
      fc.assert(
        fc.property(token, around, fc.constantFrom("token ", "Bearer ", "bearer ", "TOKEN "), (tok, pre, scheme) => {
          const url = `https://api.put.io/v2/files/list?per_page=10&oauth_token=${tok}&x=${pre}`;
          const header = `Authorization: ${scheme}${tok}`;
          const errors: PutioBaseError[] = [
            new PutioNetworkError(t("op.list-folder", { id: url }), new Error(`request to ${url} failed: ${header}`), false),
            new PutioInputError(t("op.upload", { name: header }), t("input.cannot-read", { path: url, detail: header })),
            new PutioError(t("op.api-request", { method: "GET", path: url }), { status_code: 400, error_type: "X", error_message: `${pre}${header}` }),
            new PutioBaseError(url, `${pre} ${header}`),
            new PutioInputError(header, url),
            new PutioSchemaError(url, header, `${header} ${url}`),
          ];
          for (const e of errors) {
            for (const part of [e.message, JSON.stringify(e.text), JSON.stringify(e.params), e.attempted, JSON.stringify(e.attemptedText)])
              assert.ok(!part.includes(tok), `${e.name}: ${part}`);
            assert.ok(isText(e.text));
          }
        }),
        { numRuns: 200 },
      );
    });

    it("redactError removes a bare token from message, text and attempted phrase; redact() cleans a text's params (fast-check)", () => {
      fc.assert(
        fc.property(token, around, (tok, pre) => {
          const e = new PutioInputError(t("op.read-file", { path: `/tmp/${pre}${tok}` }), t("input.cannot-read-it", { detail: `${tok}${pre}` }));
          assert.ok(e.message.includes(tok));
          redactError(e, tok);
          for (const part of [e.message, JSON.stringify(e.text), JSON.stringify(e.params), e.attempted, JSON.stringify(e.attemptedText)])
            assert.ok(!part.includes(tok), part);
          const text = redact(t("plain", { text: `${pre}${tok}`, nested: t("plain", { text: tok }) }), tok);
          assert.ok(!JSON.stringify(text).includes(tok));
        }),
        { numRuns: 200 },
      );
    });
  });
});
