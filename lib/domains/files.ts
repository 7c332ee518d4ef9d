/**
 * Files domain: list/search with cursor pagination, get, child lookup, create-folder, rename,
 * move (incl. move-with-rename), delete, download URL (extraction: domains/extract.ts). Schemas sit beside their calls.
 */
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { validator, type FromSchema } from "../core/schema";
import { cursorList } from "../core/paginate";
import type { Transport } from "../core/transport";
import { checkId, checkName, checkNotRoot, checkOk, clampPerPage } from "../core/wire";

export const fileSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    name: { type: "string" },
    parent_id: { type: "integer", nullable: true },
    size: { type: "number" },
    content_type: { type: "string", nullable: true },
    file_type: { type: "string" },
    extension: { type: "string", nullable: true },
    crc32: { type: "string", nullable: true },
    created_at: { type: "string" },
    updated_at: { type: "string", nullable: true },
  },
  required: ["id", "name", "parent_id", "size", "file_type", "created_at"],
} as const;
/** A put.io file or folder. Dates are `YYYY-MM-DDTHH:MM:SS` UTC without zone (see parsePutioDate). */
export type PutioFile = FromSchema<typeof fileSchema>;

const fileListPageSchema = {
  type: "object",
  properties: {
    files: { type: "array", items: fileSchema },
    parent: { ...fileSchema, nullable: true },
    cursor: { type: "string", nullable: true },
    total: { type: "integer", nullable: true },
  },
  required: ["files"],
} as const;
type FileListPage = FromSchema<typeof fileListPageSchema>;
const checkFileListPage = validator(fileListPageSchema);

const checkFileEnvelope = validator({ type: "object", properties: { file: fileSchema }, required: ["file"] });

const moveItemErrorSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    name: { type: "string", nullable: true },
    error_type: { type: "string" },
    status_code: { type: "integer" },
  },
  required: ["id", "error_type", "status_code"],
} as const;
/** One file put.io could not move (move answers HTTP 200 with a list of these). */
export type MoveItemError = FromSchema<typeof moveItemErrorSchema>;
const checkMoveResult = validator({
  type: "object",
  properties: {
    errors: { type: "array", nullable: true, items: moveItemErrorSchema },
  },
  required: [],
});

export interface DeleteResult {
  skipped: number;
}
const checkDeleteResult = validator({ type: "object", properties: { skipped: { type: "integer" } }, required: [] });

const checkUrl = validator({ type: "object", properties: { url: { type: "string" } }, required: ["url"] });

export interface ListOptions {
  perPage?: number;
  fileType?: string | string[];
  sortBy?: string;
  signal?: AbortSignal;
}

export class FilesApi {
  /** `onTreeChange` runs after a move, rename or delete, with the ids it changed (the path cache listens to it). */
  constructor(
    private readonly t: Transport,
    private readonly onTreeChange: (ids: number[]) => void = () => {},
  ) {}

  /** Every child of a folder, following the cursor to the end. */
  list(parentId: number, opts: ListOptions = {}): AsyncGenerator<PutioFile> {
    const attempted = t("op.list-folder", { id: parentId });
    const perPage = clampPerPage(opts.perPage);
    return cursorList(
      this.t,
      {
        path: "/v2/files/list",
        query: { parent_id: parentId, file_type: opts.fileType, sort_by: opts.sortBy },
        perPage,
        schema: checkFileListPage,
        attempted,
        signal: opts.signal,
      },
      (page) => page.files,
    );
  }

  /** One page of a folder listing with its parent (the folder itself). */
  async listPage(parentId: number, opts: ListOptions = {}): Promise<FileListPage> {
    return this.t.request({
      method: "GET",
      path: "/v2/files/list",
      query: { parent_id: parentId, per_page: clampPerPage(opts.perPage) },
      schema: checkFileListPage,
      attempted: t("op.list-folder", { id: parentId }),
      signal: opts.signal,
    });
  }

  /** Search by name across the account (put.io's search lags new files by seconds). */
  search(query: string, opts: ListOptions = {}): AsyncGenerator<PutioFile> {
    const attempted = t("op.search", { query: String(query) });
    if (typeof query !== "string" || !query.trim()) throw new PutioInputError(attempted, t("input.search-empty"));
    const perPage = clampPerPage(opts.perPage);
    return cursorList(
      this.t,
      { path: "/v2/files/search", query: { query }, perPage, schema: checkFileListPage, attempted, signal: opts.signal },
      (page) => page.files,
    );
  }

  async get(id: number, signal?: AbortSignal): Promise<PutioFile> {
    const attempted = t("op.get-file", { id });
    checkId(id, attempted);
    const res = await this.t.request({ method: "GET", path: `/v2/files/${id}`, schema: checkFileEnvelope, attempted, signal });
    return res.file;
  }

  /** The child of a folder with this exact name, or null (rclone looks paths up the same way). */
  async child(parentId: number, name: string, signal?: AbortSignal): Promise<PutioFile | null> {
    try {
      const res = await this.t.request({
        method: "GET",
        path: `/v2/files/${parentId}/child`,
        query: { name },
        schema: checkFileEnvelope,
        attempted: t("op.find-in-folder", { name, id: parentId }),
        signal,
      });
      return res.file;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  async createFolder(parentId: number, name: string, signal?: AbortSignal): Promise<PutioFile> {
    const attempted = t("op.create-folder", { name: String(name), id: parentId });
    checkName(name, attempted);
    const res = await this.t.request({
      method: "POST",
      path: "/v2/files/create-folder",
      form: { name, parent_id: parentId },
      schema: checkFileEnvelope,
      attempted,
      signal,
    });
    return res.file;
  }

  async rename(fileId: number, name: string, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.rename-file", { id: fileId, name: String(name) });
    checkNotRoot(fileId, attempted);
    checkName(name, attempted);
    // Renaming to the same name twice has the same result: safe to repeat.
    await this.t.request({ method: "POST", path: "/v2/files/rename", form: { file_id: fileId, name }, idempotent: true, schema: checkOk, attempted, signal });
    this.onTreeChange([fileId]);
  }

  /**
   * Move files into a folder. put.io answers HTTP 200 with per-item errors; we return them so a
   * caller can name each file that failed.
   */
  async move(fileIds: number[], parentId: number, signal?: AbortSignal): Promise<MoveItemError[]> {
    const attempted =
      fileIds.length === 1 ? t("op.move-file", { id: fileIds[0]!, parent: parentId }) : t("op.move-files", { count: fileIds.length, parent: parentId });
    if (!fileIds.length) throw new PutioInputError(attempted, t("input.no-file-ids"));
    fileIds.forEach((id) => checkNotRoot(id, attempted));
    checkId(parentId, attempted, t("what.folder-id"));
    const res = await this.t.request({
      method: "POST",
      path: "/v2/files/move",
      form: { file_ids: fileIds, parent_id: parentId },
      idempotent: true,
      schema: checkMoveResult,
      attempted,
      signal,
    });
    this.onTreeChange(fileIds);
    return res.errors ?? [];
  }

  /** Move one file and give it a new name in the same call (the form putio-sync and rclone use). */
  async moveAndRename(fileId: number, parentId: number, name: string, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.move-file-as", { id: fileId, parent: parentId, name: String(name) });
    checkNotRoot(fileId, attempted);
    checkId(parentId, attempted, t("what.folder-id"));
    checkName(name, attempted);
    await this.t
      .request({
        method: "POST",
        path: "/v2/files/move",
        form: { file_id: fileId, parent_id: parentId, name },
        idempotent: true,
        schema: checkMoveResult,
        attempted,
        signal,
      })
      .then((r) => {
        this.onTreeChange([fileId]);
        const e = r.errors?.[0];
        if (e) throw new PutioInputError(attempted, t("input.move-refused", { type: e.error_type }));
      });
  }

  /**
   * Delete files (to the trash unless skipTrash). skip_nonexistents makes a repeat harmless, so
   * the call counts as idempotent; TRASH_LOCK_TIMEOUT is retried by the transport.
   */
  async delete(fileIds: number[], opts: { skipTrash?: boolean; signal?: AbortSignal } = {}): Promise<DeleteResult> {
    const attempted = fileIds.length === 1 ? t("op.delete-file", { id: fileIds[0]! }) : t("op.delete-files", { count: fileIds.length });
    if (!fileIds.length) throw new PutioInputError(attempted, t("input.no-file-ids"));
    fileIds.forEach((id) => checkNotRoot(id, attempted));
    const res = await this.t.request({
      method: "POST",
      path: "/v2/files/delete",
      query: { skip_nonexistents: true, skip_trash: opts.skipTrash ? true : undefined },
      form: { file_ids: fileIds },
      idempotent: true,
      schema: checkDeleteResult,
      attempted,
      signal: opts.signal,
    });
    this.onTreeChange(fileIds);
    return { skipped: res.skipped ?? 0 };
  }

  /** A direct storage URL for the file's bytes (supports Range); it expires, so ask again when it does. */
  async downloadUrl(fileId: number, signal?: AbortSignal): Promise<string> {
    const attempted = t("op.get-download-url", { id: fileId });
    checkId(fileId, attempted);
    const res = await this.t.request({ method: "GET", path: `/v2/files/${fileId}/url`, schema: checkUrl, attempted, signal });
    return res.url;
  }
}
