/**
 * Storage URLs out of every text of a copy. A signed storage URL of the source account downloads
 * its file with no token, and put.io's answers (and this package's own attempted phrases, such as
 * `add transfer "<url>"`) quote the URL they were about, often cut short. So every error a copy
 * reports or throws passes through `hideStorageUrls` first.
 */
import { PutioBaseError, PutioError } from "../core/errors";
import { mapStrings, render, type Text } from "../core/texts";

/** What stands where a storage URL was. */
export const HIDDEN_URL = "<storage URL>";

/** A URL in a text, up to a space or a quote; a cut-short one ends in "...". */
const URL_IN_TEXT = /https?:\/\/[^\s"'<>`]+/gi;
/** A storage address by its shape: a download or zip path, or a signature parameter. */
const STORAGE_SHAPE = /\/(?:download|zipstream)\/|[?&](?:u|token|oauth_token|sig|signature)=/i;

/**
 * The text with every storage URL in it replaced: any URL of a storage shape, and any URL (or the
 * start of one) that is a prefix of an address in `known`.
 */
export function hideStorageUrls(text: string, known: Iterable<string> = []): string {
  if (!/https?:\/\//i.test(text)) return text;
  const urls = [...known];
  return text.replace(URL_IN_TEXT, (found) => {
    const core = found.replace(/\.{3}$/, "");
    if (STORAGE_SHAPE.test(core) || urls.some((u) => u.startsWith(core) || core.startsWith(u))) return HIDDEN_URL;
    return found;
  });
}

/** The same for each string parameter of a text. */
export function hideInText(text: Text, known: Iterable<string> = []): Text {
  const list = [...known];
  return mapStrings(text, (s) => hideStorageUrls(s, list));
}

/**
 * The error with storage URLs removed from its message and, for this package's errors, from its
 * text, attempted phrase and put.io's error message (changed in place, as redactError does).
 */
export function hideInError<E>(err: E, known: Iterable<string> = []): E {
  if (!(err instanceof Error)) return err;
  const list = [...known];
  const clean = hideStorageUrls(err.message, list);
  if (clean !== err.message) err.message = clean;
  if (err instanceof PutioBaseError) {
    const w = err as unknown as { text: Text; params: Text["params"]; attemptedText: Text; attempted: string };
    w.text = hideInText(err.text, list);
    w.params = w.text.params;
    w.attemptedText = hideInText(err.attemptedText, list);
    w.attempted = render(w.attemptedText);
    err.message = render(w.text);
  }
  if (err instanceof PutioError) (err as unknown as { errorMessage: string }).errorMessage = hideStorageUrls(err.errorMessage, list);
  return err;
}
