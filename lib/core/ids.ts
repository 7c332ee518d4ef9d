import { describeValue } from "./describe";
import { PutioInputError } from "./errors";
import { t, type TextOrString } from "./texts";

/**
 * A field of an object a msg carried. A getter may throw (a proxy, a class with checks): that
 * becomes an input error naming the action and the field, not the getter's bare text.
 */
export function readField(obj: object, key: string, attempted: TextOrString): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch (err) {
    throw new PutioInputError(
      attempted,
      t("input.field-unreadable", { key, object: describeValue(obj, 40), detail: describeValue((err as Error)?.message ?? err, 80) }),
    );
  }
}

/**
 * put.io ids from what a flow sends: a number, digits, a comma-separated string, objects with an
 * `id` (files from the files node, transfers from the watch node) or an array of these.
 */
export function idsOf(value: unknown, attempted: TextOrString, what: TextOrString = t("what.id")): number[] {
  const out: number[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (Array.isArray(v) && depth === 0) return v.forEach((x) => visit(x, 1));
    if (typeof v === "string" && v.includes(",") && depth === 0) return v.split(",").forEach((x) => visit(x, 1));
    const n =
      typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v && typeof v === "object" ? readField(v, "id", attempted) : NaN;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      throw new PutioInputError(attempted, t("input.not-an-id", { value: describeValue(v, 60), what }));
    out.push(n);
  };
  if (value === undefined || value === null || value === "") return out;
  visit(value, 0);
  return [...new Set(out)];
}
