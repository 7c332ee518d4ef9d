/**
 * The verdicts a copy job asks, each without a request: is this storage URL safe to hand over, is
 * this name one put.io takes, do two files hold the same bytes, does this error end the job, may
 * waiting cure it, may the request have taken effect.
 */
import { PutioAbortError, PutioBaseError, PutioError, PutioInputError, PutioNetworkError, PutioTimeoutError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { checkName } from "../core/wire";
import type { PutioFile } from "../domains/files";
import type { CopiedEntry } from "./types";

export const isFolder = (f: PutioFile) => f.file_type === "FOLDER";

/** A name's problem as put.io's rules (and ours) see it, or null: checkName's verdict without the throw. */
export function nameProblem(name: string, attempted: Text): PutioBaseError | null {
  try {
    checkName(name, attempted);
    return null;
  } catch (err) {
    return err as PutioBaseError;
  }
}

/** Errors that end the job, not an entry: the job was aborted, or a token was refused. */
export function isFatal(err: unknown): boolean {
  return err instanceof PutioAbortError || (err instanceof PutioError && err.statusCode === 401);
}

/**
 * The source's storage URL, refused if it carries an access token: the target account's transfer
 * list (and anyone it is shared with) would see it. The URL itself is never put in a text.
 */
export function checkStorageUrl(url: string, attempted: Text): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PutioInputError(attempted, t("copy.bad-url"));
  }
  const names = [...u.searchParams.keys()].map((k) => k.toLowerCase());
  if (names.some((k) => k === "oauth_token" || k === "token" || k === "access_token") || u.username || u.password)
    throw new PutioInputError(attempted, t("copy.url-has-token"));
  return url;
}

/** A refusal to add another transfer that waiting may cure (put.io's limit of active transfers; core/quirks.ts). */
export function mayBeQueueFull(err: unknown): boolean {
  return err instanceof PutioError && (err.statusCode === 403 || err.statusCode === 429 || /TOO_MANY|LIMIT|QUEUE/i.test(err.errorType));
}

/** An error after which the request may have taken effect on put.io (its answer was lost). */
export function mayHaveTakenEffect(err: unknown): boolean {
  if (err instanceof PutioNetworkError) return err.mayHaveTakenEffect;
  return err instanceof PutioTimeoutError || (err instanceof PutioError && err.statusCode >= 500);
}

/** The source's copy when `there` (same name on the target) holds its bytes; else why it cannot be copied there. */
export function alreadyThere(f: { file: PutioFile; path: string }, there: PutioFile, attempted: Text): CopiedEntry {
  if (isFolder(there)) throw new PutioInputError(attempted, t("copy.folder-in-the-way", { name: f.file.name }));
  if (!sameContent(there, f.file)) throw new PutioInputError(attempted, t("copy.name-taken", { name: f.file.name }));
  return { path: f.path, size: there.size, fileId: there.id };
}

/** Same bytes as far as put.io can tell: the size, and the CRC32 when both have one. */
export function sameContent(a: PutioFile, b: PutioFile): boolean {
  if (a.size !== b.size) return false;
  if (!a.crc32 || !b.crc32) return false;
  return a.crc32.toLowerCase() === b.crc32.toLowerCase();
}
