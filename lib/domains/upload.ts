/**
 * Multipart upload to the upload host. A .torrent becomes a transfer: put.io then answers
 * {transfer} instead of {file}. Resumable (tus) uploads live in lib/upload/engine.ts.
 */
import { openAsBlob } from "node:fs";
import { basename } from "node:path";
import { FormData } from "undici";
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { validator } from "../core/schema";
import type { Transport } from "../core/transport";
import { checkName } from "../core/wire";
import { fileSchema, type PutioFile } from "./files";
import { transferSchema, type Transfer } from "./transfers";

export type UploadResult = { kind: "file"; file: PutioFile } | { kind: "transfer"; transfer: Transfer };

const checkUploadAnswer = validator({
  type: "object",
  properties: { file: { ...fileSchema, nullable: true }, transfer: { ...transferSchema, nullable: true } },
  required: [],
});

export interface UploadOptions {
  /** Folder id; omitted → the account's default folder. */
  parentId?: number;
  signal?: AbortSignal;
}

export class UploadApi {
  constructor(private readonly t: Transport) {}

  /** Upload a Buffer or a local file (streamed from disk, not read into memory). */
  async upload(source: Buffer | { path: string }, name: string | undefined, opts: UploadOptions = {}): Promise<UploadResult> {
    const fileName = name ?? (Buffer.isBuffer(source) ? undefined : basename(source.path));
    const attempted = fileName === undefined || fileName === null ? t("op.upload-unnamed") : t("op.upload", { name: String(fileName) });
    checkName(fileName, attempted);
    const blob = Buffer.isBuffer(source)
      ? new Blob([source as Uint8Array<ArrayBuffer>])
      : await openAsBlob(source.path).catch((err: Error) => {
          throw new PutioInputError(attempted, t("input.cannot-read", { path: source.path, detail: String(err.message) }));
        });
    const form = new FormData();
    form.append("file", blob, fileName);
    form.append("filename", fileName as string);
    if (opts.parentId !== undefined) form.append("parent_id", String(opts.parentId));
    const res = await this.t.request({
      method: "POST",
      path: "/v2/files/upload",
      host: "upload",
      multipart: form,
      schema: checkUploadAnswer,
      attempted,
      signal: opts.signal,
    });
    if (res.transfer) return { kind: "transfer", transfer: res.transfer };
    if (res.file) return { kind: "file", file: res.file };
    throw new PutioInputError(attempted, t("input.upload-answer-unknown"));
  }
}
