/**
 * Runtime texts (status, warnings, errors) through Node-RED's message catalogs, in the runtime's
 * language. A key names its catalog by its first part: `putio-files.status.found` is in the
 * putio-files set's catalog, `common.*` in the account set's (the texts every node shares).
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "./node-api";

/** The package name Node-RED registers the node sets under (their i18n namespace is `<package>/<set>`). */
const PACKAGE: string = (() => {
  // dist/nodes/common → package root; nodes/common when run from source.
  for (const up of ["../../..", "../.."]) {
    const file = path.join(__dirname, up, "package.json");
    if (fs.existsSync(file)) {
      const name = (JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string }).name;
      if (name) return name;
    }
  }
  return "@putflow/node-red-putio";
})();

export type TextParams = Record<string, string | number>;

/** The full i18n key of a catalog key: `<package>/<set>:<key>`. */
export function catalogKey(key: string): string {
  const first = key.slice(0, key.indexOf("."));
  const set = first.startsWith("putio-") ? first : "putio-account";
  return `${PACKAGE}/${set}:${key}`;
}

/** The text of a catalog key, or undefined when no catalog has it. */
export function lookupText(RED: NodeAPI, key: string, params?: TextParams): string | undefined {
  const full = catalogKey(key);
  const out = (RED._ as (k: string, p?: object) => string)(full, params);
  return typeof out === "string" && out !== full && out !== key ? out : undefined;
}

/** The text of a catalog key; the key itself when missing (the i18n spec keeps that from happening). */
export function textOf(RED: NodeAPI, key: string, params?: TextParams): string {
  return lookupText(RED, key, params) ?? key;
}
