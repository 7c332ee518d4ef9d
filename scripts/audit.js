#!/usr/bin/env node
/**
 * `npm run audit`: `npm audit --omit=dev`, failing on any high or critical advisory in what users
 * install. Where the registry does not answer audits (some mirrors and proxies reply 405), that is
 * said plainly and the exit code is 0, or 2 with AUDIT_STRICT=1: an unanswered audit is never
 * reported as a clean one.
 */
"use strict";
const { spawnSync } = require("node:child_process");

const r = spawnSync("npm", ["audit", "--omit=dev", "--json"], { encoding: "utf8", cwd: __dirname + "/.." });
let report = null;
try {
  report = JSON.parse(r.stdout);
} catch {
  /* not JSON: handled below */
}
const counts = report && report.metadata && report.metadata.vulnerabilities;
if (!counts) {
  const lines = (r.stderr || "").split("\n").map((l) => l.replace(/^npm (warn|error) /, "").trim());
  const why =
    (report && report.error && (report.error.summary || report.error.code)) ||
    lines.find((l) => /^\d{3} /.test(l)) ||
    lines.find((l) => /audit/i.test(l)) ||
    "no answer";
  console.log(`npm audit: NOT CHECKED, the registry did not answer the audit (${why}).`);
  process.exit(process.env.AUDIT_STRICT === "1" ? 2 : 0);
}
const bad = (counts.high || 0) + (counts.critical || 0);
console.log(`npm audit (production dependencies): ${JSON.stringify(counts)}`);
if (bad > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities || {})) {
    if (v.severity === "high" || v.severity === "critical") console.log(`  ${v.severity}: ${name} ${v.range || ""}`);
  }
  process.exit(1);
}
