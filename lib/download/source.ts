/**
 * What a value asks to download, as a download job's source: a file or folder id, a put.io path,
 * a file object (from putio-files), or a finished transfer (from putio-transfer-watch, with the
 * file object it read for it, which is then not read again).
 */
import { PutioInputError } from "../core/errors";
import { describeValue } from "../core/describe";
import { readField } from "../core/ids";
import { t } from "../core/texts";
import type { DownloadSource } from "./job";
import type { RemoteFile } from "./types";

export interface SourceOfValue {
  source: DownloadSource;
  /** The transfer the value was (its removal can follow a verified job), else null. */
  transferId: number | null;
}

/** The download source a value names; `made`: a file object read for the transfer (msg.file of the watch). */
export function downloadSourceOf(value: unknown, made?: unknown): SourceOfValue {
  const attempted = t("op.download-job");
  if (typeof value === "number" || (typeof value === "string" && /^\s*\d+\s*$/.test(value))) return { source: { fileId: Number(value) }, transferId: null };
  if (typeof value === "string" && value.trim().startsWith("/")) return { source: { path: value.trim() }, transferId: null };
  if (value && typeof value === "object" && !Array.isArray(value)) {
    // Fields read once each, through readField: a msg may carry a proxy or a throwing getter.
    const field = (key: string) => readField(value, key, attempted);
    const fileId = field("file_id");
    const fileType = field("file_type");
    const id = field("id");
    if (fileId !== undefined && fileType === undefined) {
      // A transfer (putio-transfer-watch): download what it produced.
      if (typeof fileId !== "number") {
        throw new PutioInputError(
          attempted,
          t("download.source-no-file-yet", {
            id: describeValue(id ?? "", 20),
            status: describeValue(field("status") ?? "unknown", 30).replace(/^"|"$/g, ""),
          }),
        );
      }
      const transferId = typeof id === "number" ? id : null;
      const file = madeFile(made, fileId);
      return { source: file ? { file, current: true } : { fileId }, transferId };
    }
    const name = field("name");
    if (typeof id === "number" && typeof name === "string") {
      if (fileType === "FOLDER") return { source: { folderId: id }, transferId: null };
      const size = field("size");
      const crc32 = field("crc32");
      if (typeof size === "number")
        return {
          source: { file: { id, name, size, file_type: typeof fileType === "string" ? fileType : undefined, crc32: typeof crc32 === "string" ? crc32 : null } },
          transferId: null,
        };
      return { source: { fileId: id }, transferId: null };
    }
  }
  throw new PutioInputError(attempted, t("download.bad-source", { value: describeValue(value) }));
}

/** The watch's file object when it is put.io's object for this transfer's file (else null). */
function madeFile(made: unknown, fileId: number): RemoteFile | null {
  if (!made || typeof made !== "object" || Array.isArray(made)) return null;
  const attempted = t("op.download-job");
  const field = (key: string) => readField(made, key, attempted);
  const [id, name, size, fileType, crc32, parentId] = ["id", "name", "size", "file_type", "crc32", "parent_id"].map(field);
  if (id !== fileId || typeof name !== "string" || typeof size !== "number" || typeof fileType !== "string") return null;
  return {
    id,
    name,
    size,
    file_type: fileType,
    crc32: typeof crc32 === "string" ? crc32 : null,
    parent_id: typeof parentId === "number" || parentId === null ? parentId : undefined,
  };
}
