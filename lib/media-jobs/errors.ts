/**
 * Errors of the media jobs, each a kind a flow can branch on (`err.kind`), with put.io's own status
 * and message when there is one. The message is a text by code (`extract.*`, `convert.*`); the
 * archive password never appears in any of them.
 */
import { PutioBaseError } from "../core/errors";
import { t, type Text } from "../core/texts";

export type ExtractionFailure =
  /** The archive is encrypted and no password was given. */
  | "password-required"
  /** put.io could not open the archive with the password given. */
  | "wrong-password"
  /** put.io reported ERROR (corrupt archive, not an archive, failure midway). */
  | "failed"
  /** Volumes of a multi-part set are missing: put.io cannot extract it. */
  | "incomplete"
  /** The extraction left put.io's list before it finished (removed meanwhile). */
  | "vanished"
  /** put.io finished but nothing came out that the download could take. */
  | "empty"
  /** It did not finish in the time allowed. */
  | "timeout";

/** An archive put.io did not extract. Files it wrote before a failure midway stay on put.io. */
export class PutioExtractionError extends PutioBaseError {
  readonly kind: ExtractionFailure;
  /** The archive's name (for a set: its first volume). */
  readonly archive: string;
  readonly extractionId: number | null;
  /** put.io's status and message when it gave them (ERROR, "Archive is corrupt"). */
  readonly status: string | null;
  readonly putioMessage: string | null;
  constructor(
    message: Text,
    details: { kind: ExtractionFailure; archive: string; extractionId?: number | null; status?: string | null; putioMessage?: string | null },
  ) {
    super(t("op.extract-archive", { name: details.archive }), message);
    this.kind = details.kind;
    this.archive = details.archive;
    this.extractionId = details.extractionId ?? null;
    this.status = details.status ?? null;
    this.putioMessage = details.putioMessage ?? null;
  }
}

export type Mp4Failure = "failed" | "vanished" | "timeout";

/** A conversion to MP4 that did not finish. */
export class PutioMp4Error extends PutioBaseError {
  readonly kind: Mp4Failure;
  readonly fileId: number;
  readonly status: string | null;
  constructor(message: Text, details: { kind: Mp4Failure; fileId: number; status?: string | null }) {
    super(t("op.convert-mp4", { id: details.fileId }), message);
    this.kind = details.kind;
    this.fileId = details.fileId;
    this.status = details.status ?? null;
  }
}
