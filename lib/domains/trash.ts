/** Trash domain: list (+ continue), restore, delete for good, empty. */
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { cursorList } from "../core/paginate";
import { validator, type FromSchema } from "../core/schema";
import type { Transport } from "../core/transport";
import { checkNotRoot, checkOk, clampPerPage } from "../core/wire";

const trashFileSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    name: { type: "string" },
    parent_id: { type: "integer", nullable: true },
    size: { type: "number" },
    file_type: { type: "string", nullable: true },
    deleted_at: { type: "string", nullable: true },
    expiration_date: { type: "string", nullable: true },
  },
  required: ["id", "name", "size"],
} as const;
/** A top-level item of the trash (a deleted folder's children are not listed). */
export type TrashFile = FromSchema<typeof trashFileSchema>;

const checkTrashPage = validator({
  type: "object",
  properties: { files: { type: "array", items: trashFileSchema }, cursor: { type: "string", nullable: true }, trash_size: { type: "number", nullable: true } },
  required: ["files"],
});

export class TrashApi {
  constructor(
    private readonly t: Transport,
    private readonly onTreeChange: () => void = () => {},
  ) {}

  list(opts: { perPage?: number; signal?: AbortSignal } = {}): AsyncGenerator<TrashFile> {
    return cursorList(
      this.t,
      { path: "/v2/trash/list", perPage: clampPerPage(opts.perPage), schema: checkTrashPage, attempted: t("op.list-trash"), signal: opts.signal },
      (page) => page.files,
    );
  }

  /** Restore items (they keep their ids). put.io answers 404 TRASH_FILE_NOT_FOUND for unknown ids. */
  async restore(ids: number[], signal?: AbortSignal): Promise<void> {
    const attempted = t("op.restore-trash", { count: ids.length });
    if (!ids.length) throw new PutioInputError(attempted, t("input.no-file-ids"));
    ids.forEach((id) => checkNotRoot(id, attempted));
    await this.t.request({ method: "POST", path: "/v2/trash/restore", form: { file_ids: ids }, idempotent: true, schema: checkOk, attempted, signal });
    this.onTreeChange();
  }

  async delete(ids: number[], signal?: AbortSignal): Promise<void> {
    const attempted = t("op.delete-trash", { count: ids.length });
    if (!ids.length) throw new PutioInputError(attempted, t("input.no-file-ids"));
    ids.forEach((id) => checkNotRoot(id, attempted));
    await this.t.request({ method: "POST", path: "/v2/trash/delete", form: { file_ids: ids }, idempotent: true, schema: checkOk, attempted, signal });
  }

  async empty(signal?: AbortSignal): Promise<void> {
    await this.t.request({ method: "POST", path: "/v2/trash/empty", idempotent: true, schema: checkOk, attempted: t("op.empty-trash"), signal });
  }
}
