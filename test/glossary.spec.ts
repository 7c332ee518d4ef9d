/**
 * Each language keeps one term per idea (nodes/locales/GLOSSARY.<lang>.md): a word of a glossary's
 * "avoid" column found in that language's catalogs or help (outside code) fails, with where it is.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const LOCALES = path.join(__dirname, "..", "..", "nodes", "locales");

interface Rule {
  use: string;
  avoid: string[];
}

/** The glossary's table: the second column is the term to use, the third the words to avoid (comma-separated). */
export function glossaryRules(markdown: string): Rule[] {
  const rules: Rule[] = [];
  const lines = markdown.split("\n");
  for (const [i, line] of lines.entries()) {
    const cells = line.split("|").map((c) => c.trim());
    // Not a row, the separator, or the header (the row above the separator).
    if (cells.length < 5 || /^-+$/.test(cells[1]) || /^\|\s*-+\s*\|/.test(lines[i + 1] ?? "")) continue;
    const avoid = cells[3]
      .split(",")
      .map((w) => w.trim())
      .filter(Boolean);
    rules.push({ use: cells[2], avoid });
  }
  return rules;
}

/** The running text of a help file or catalog: code, markup and JSON keys left out. */
export function proseOf(file: string, content: string): string[] {
  if (file.endsWith(".json")) {
    const out: string[] = [];
    const walk = (v: unknown) => {
      if (typeof v === "string") out.push(v.replace(/<code>[\s\S]*?<\/code>/g, " ").replace(/<[^>]+>/g, " "));
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(JSON.parse(content));
    return out;
  }
  return [
    content
      .replace(/<code>[\s\S]*?<\/code>|<pre>[\s\S]*?<\/pre>/g, " ")
      .replace(/<[^>]+>/g, " ")
      .replace(/&[a-z]+;/g, " "),
  ];
}

/** Where `word` stands as a word (not inside another, not part of an identifier such as Node-RED or transfer/ERROR). */
export function findWord(text: string, word: string): string[] {
  const esc = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`(?<![\\p{L}\\p{N}_./])${esc}(?![\\p{L}\\p{N}_./-])`, "gu");
  const hits: string[] = [];
  for (const m of text.matchAll(re)) hits.push(text.slice(Math.max(0, m.index - 30), m.index + word.length + 30).replace(/\s+/g, " "));
  return hits;
}

describe("glossaries: one term per idea in each language", () => {
  for (const lang of ["de", "tr"]) {
    it(`${lang}: nodes/locales/GLOSSARY.${lang}.md exists, and no word it says to avoid is in the ${lang} texts`, () => {
      const file = path.join(LOCALES, `GLOSSARY.${lang}.md`);
      assert.ok(fs.existsSync(file), `${file} is missing`);
      const rules = glossaryRules(fs.readFileSync(file, "utf8"));
      assert.ok(rules.length >= 3, "the glossary has its table");
      const found: string[] = [];
      for (const f of fs.readdirSync(path.join(LOCALES, lang)).sort()) {
        const texts = proseOf(f, fs.readFileSync(path.join(LOCALES, lang, f), "utf8"));
        for (const rule of rules)
          for (const word of rule.avoid)
            for (const text of texts) for (const hit of findWord(text, word)) found.push(`${lang}/${f}: "${word}" (use "${rule.use}"): …${hit}…`);
      }
      assert.deepEqual(found, []);
    });
  }

  it("the check finds what it should and nothing else (known texts)", () => {
    const rules = glossaryRules("| a | b | c | d |\n| --- | --- | --- | --- |\n| node | düğüm | node, kip | why |\n");
    assert.deepEqual(rules, [{ use: "düğüm", avoid: ["node", "kip"] }]);
    assert.equal(findWord("indirme node'unun klasörü", "node").length, 1, "a suffixed form is found");
    assert.equal(findWord("Node-RED ve node-red-putio", "node").length, 0, "names and identifiers are not words");
    assert.equal(findWord("<code>transfer/ERROR</code>", "transfer").length, 0);
    assert.equal(findWord("bir transfer eklendi", "transfer").length, 1);
    assert.equal(findWord("kipte", "kip").length, 0, "a word is not found inside another");
    assert.deepEqual(
      proseOf("x.html", "<p>the <code>node</code> and <i>node</i></p>").map((t) => findWord(t, "node").length),
      [1],
    );
    assert.deepEqual(
      proseOf("x.json", JSON.stringify({ node: { default: "düğüm", note: "bir node" } })).map((t) => findWord(t, "node").length),
      [0, 1],
    );
  });
});
