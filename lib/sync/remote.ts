/**
 * put.io's listings as the sync reads them, with what put.io says about them in the same answer:
 * the folder itself (`parent`, whose `size` is the total of its subtree) and the count of its
 * children (`total`). One bad answer (empty, or a first page whose cursor is null) must never read
 * as "these files were deleted": a listing is checked against those numbers (checkListing), and
 * the run holds back every removal when one contradicts itself.
 */
import type { PutioClient } from "../client";
import { validator, type FromSchema } from "../core/schema";
import { t } from "../core/texts";
import { clampPerPage } from "../core/wire";
import { fileSchema, type PutioFile } from "../domains/files";

const pageSchema = {
  type: "object",
  properties: {
    files: { type: "array", items: fileSchema },
    parent: { ...fileSchema, nullable: true },
    cursor: { type: "string", nullable: true },
    total: { type: "integer", nullable: true },
  },
  required: ["files"],
} as const;
const checkPage = validator(pageSchema);
type Page = FromSchema<typeof pageSchema>;

export interface FolderListing {
  files: PutioFile[];
  /** The folder's size as the first page said (null: not said). */
  size: number | null;
  /** The count of children as the first page said (null: not said). */
  total: number | null;
}

/** Every child of a folder, following the cursor, with the folder's size and child count from the first page. */
export async function listFolder(client: PutioClient, id: number, signal?: AbortSignal): Promise<FolderListing> {
  const attempted = t("op.list-folder", { id });
  const perPage = clampPerPage(undefined);
  let page: Page = await client.transport.request({
    method: "GET",
    path: "/v2/files/list",
    query: { parent_id: id, per_page: perPage, total: 1 },
    schema: checkPage,
    attempted,
    signal,
  });
  const size = page.parent && page.parent.id === id && typeof page.parent.size === "number" ? page.parent.size : null;
  const total = typeof page.total === "number" ? page.total : null;
  const files: PutioFile[] = [];
  for (;;) {
    files.push(...page.files);
    if (!page.cursor) break;
    const cursor = page.cursor;
    page = await client.transport.request({
      method: "POST",
      path: "/v2/files/list/continue",
      query: { per_page: perPage },
      form: { cursor },
      idempotent: true,
      schema: checkPage,
      attempted,
      signal,
    });
  }
  return { files, size, total };
}

/** What a listing proves: `short` when it holds less than put.io's own numbers say, `verified` when its sizes add up exactly. */
export interface ListingCheck {
  short: { listed: number; size: number; count: number; total: number } | null;
  verified: boolean;
}

/**
 * Check a listing against the folder's size and child count. `sizes` are what put.io said the
 * folder holds (its `parent` entry; its entry in its parent's listing, when that was listed in the
 * same run). The account root's size is the account's usage, not the sum of its listing: the
 * caller leaves it out, and such a listing is never `verified`.
 */
export function checkListing(listing: FolderListing, sizes: Array<number | null>): ListingCheck {
  const listed = listing.files.reduce((s, f) => s + (typeof f.size === "number" ? f.size : 0), 0);
  const known = sizes.filter((s): s is number => typeof s === "number" && Number.isFinite(s));
  const size = known.length ? Math.max(...known) : null;
  const count = listing.files.length;
  const short = (size !== null && listed < size) || (listing.total !== null && count < listing.total);
  return {
    short: short ? { listed, size: size ?? listed, count, total: listing.total ?? count } : null,
    verified: !short && size !== null && known.every((s) => s === listed),
  };
}
