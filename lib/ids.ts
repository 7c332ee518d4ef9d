import { describeValue } from "./describe";
import { PutioInputError } from "./errors";

/**
 * put.io ids from what a flow sends: a number, digits, a comma-separated string, objects with an
 * `id` (files from the files node, transfers from the watch node) or an array of these.
 */
export function idsOf(value: unknown, attempted: string, what = "id"): number[] {
  const out: number[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (Array.isArray(v) && depth === 0) return v.forEach((x) => visit(x, 1));
    if (typeof v === "string" && v.includes(",") && depth === 0) return v.split(",").forEach((x) => visit(x, 1));
    const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v && typeof v === "object" ? (v as { id?: unknown }).id : NaN;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new PutioInputError(attempted, `${describeValue(v, 60)} is not a ${what}`);
    out.push(n);
  };
  if (value === undefined || value === null || value === "") return out;
  visit(value, 0);
  return [...new Set(out)];
}
