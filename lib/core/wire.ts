/**
 * Wire helpers every domain shares: the success envelope check, ids and names checked before a
 * call, put.io's date format, and the one page-size clamp of the list routes.
 */
import { describeValue } from "./describe";
import { PutioInputError } from "./errors";
import { t, type TextOrString } from "./texts";
import { okStatus, validator } from "./schema";

/** `{status: "OK"}`, put.io's answer to a call that returns nothing else. */
export const checkOk = validator({ type: "object", properties: { status: okStatus }, required: ["status"] });

/** put.io's largest page (per_page=1001 answers 400). */
export const MAX_PER_PAGE = 1000;

/** A page size put.io accepts: a whole number in 1…1000; none (or not a number) gives `fallback`. */
export function clampPerPage(perPage: number | undefined, fallback = MAX_PER_PAGE): number {
  const n = typeof perPage === "number" && Number.isFinite(perPage) ? Math.floor(perPage) : fallback;
  return Math.min(MAX_PER_PAGE, Math.max(1, n));
}

/** Names put.io refuses; checked here so the user sees which name and why before any call. */
export function checkName(name: unknown, attempted: TextOrString): string {
  if (typeof name !== "string" || name.trim() === "") throw new PutioInputError(attempted, t("input.name-empty"));
  if (name === "." || name === "..") throw new PutioInputError(attempted, t("input.name-unusable", { name }));
  if (name.includes("/")) throw new PutioInputError(attempted, t("input.name-has-slash", { name }));
  if (name.includes("\0")) throw new PutioInputError(attempted, t("input.name-has-nul"));
  if (Buffer.byteLength(name) > 255) throw new PutioInputError(attempted, t("input.name-too-long"));
  return name;
}

/** A put.io id (a non-negative safe integer, or its digits) or a PutioInputError naming it; `what` is a `what.*` text. */
export function checkId(id: unknown, attempted: TextOrString, what: TextOrString = t("what.file-id")): number {
  const n = typeof id === "string" && /^\d+$/.test(id.trim()) ? Number(id) : id;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
    throw new PutioInputError(attempted, t("input.invalid-id", { value: describeValue(id), what }));
  return n;
}

/**
 * put.io's root ("Your Files") is id 0. Deleting, moving or renaming it is never what a flow meant
 * (an id that defaulted to 0, a parent_id taken for an id): refuse it before any request.
 */
export function checkNotRoot(id: unknown, attempted: TextOrString, what: TextOrString = t("what.file-id")): number {
  const n = checkId(id, attempted, what);
  if (n === 0) throw new PutioInputError(attempted, t("input.root-id"));
  return n;
}

/** put.io dates are `YYYY-MM-DDTHH:MM:SS` in UTC without a zone (older events use a space). */
export function parsePutioDate(s: string | null | undefined): Date | null {
  if (!s) return null;
  const iso = s.replace(" ", "T");
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : /T/.test(iso) ? iso + "Z" : iso + "T00:00:00Z");
  return Number.isNaN(d.getTime()) ? null : d;
}
