/**
 * Texts by code: every error of lib/ carries its message as a code with parameters, so a caller
 * (the node kernel) can show it in the user's language; `render` without a lookup gives English.
 * Values from users or put.io (names, paths, ids, put.io's own error texts) are always parameters,
 * never part of a template, and are never translated.
 *
 * Over 400 lines on purpose: under 90 lines of code, then `ENGLISH`, the one table of every text
 * lib/ shows. One table is one place to look a code up, and what test/error-texts.spec.ts and the
 * three catalogs are held against; tables split by folder would let two folders define one code.
 */

/** A text by code with its parameters; parameters may be texts themselves (rendered first). */
export interface Text {
  readonly code: string;
  readonly params?: Readonly<Record<string, string | number | Text>>;
}

export function t(code: string, params?: Text["params"]): Text {
  return params ? Object.freeze({ code, params: Object.freeze({ ...params }) }) : Object.freeze({ code });
}

export function isText(v: unknown): v is Text {
  if (!v || typeof v !== "object" || typeof (v as Text).code !== "string") return false;
  const p = (v as Text).params;
  return p === undefined || (typeof p === "object" && p !== null);
}

/** A text, or a phrase that is already text (from code outside lib/, or from put.io). */
export type TextOrString = string | Text;

/** A string passes through as the `plain` text: shown as it is, in every language. */
export function asText(v: TextOrString): Text {
  return isText(v) ? v : t("plain", { text: String(v) });
}

const PLACEHOLDER = /__([A-Za-z][A-Za-z0-9]*)__|\uE000([A-Za-z][A-Za-z0-9]*)\uE001/g;

/**
 * Render a text: `lookup(code, flatParams)` gives the translated template (undefined = use English).
 * The string parameters reach the lookup as stand-ins (a private-use mark around their name) that
 * are replaced here in one pass, so a lookup that substitutes parameters itself (i18next does) and
 * one that returns the bare template both work, and a value that looks like a placeholder (a file
 * named "__hint__") is never substituted a second time. Numbers reach the lookup as they are (plurals).
 */
export function render(text: Text, lookup?: Lookup): string {
  return renderAt(text, lookup, 0);
}

export type Lookup = (code: string, params: Record<string, string | number>) => string | undefined;

/** Texts nest a few levels (an API error's attempted and hint); deeper is a value that only looks like a text. */
const MAX_DEPTH = 8;

function renderAt(text: Text, lookup: Lookup | undefined, depth: number): string {
  if (depth > MAX_DEPTH) return "…";
  const values: Record<string, string | number> = {};
  const standIns: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(text.params ?? {})) {
    values[k] = isText(v) ? renderAt(v, lookup, depth + 1) : typeof v === "number" ? v : String(v);
    standIns[k] = typeof values[k] === "number" ? values[k] : `\uE000${k}\uE001`;
  }
  let template: string | undefined;
  try {
    template = lookup?.(text.code, standIns);
  } catch {
    template = undefined; // a failing lookup must never hide the error being reported
  }
  if (typeof template !== "string") template = Object.prototype.hasOwnProperty.call(ENGLISH, text.code) ? ENGLISH[text.code] : text.code;
  return template!.replace(PLACEHOLDER, (whole, a?: string, b?: string) => {
    const name = (a ?? b)!;
    return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
  });
}

/** Every string parameter (nested texts too) passed through `f`: redaction of tokens. */
export function mapStrings(text: Text, f: (s: string) => string): Text {
  if (!text.params) return text;
  const params: Record<string, string | number | Text> = {};
  for (const [k, v] of Object.entries(text.params)) params[k] = typeof v === "string" ? f(v) : isText(v) ? mapStrings(v, f) : v;
  return t(text.code, params);
}

/**
 * The English templates, by code; placeholders are Node-RED i18n's `__name__`. Groups: `op.*` what
 * was attempted; `api.*`, `network.*`, `timeout.*`, `abort.*`, `schema.*` what went wrong on the
 * wire; `hint.*` what to do about an API error; `input.*` bad input caught before any call (each
 * starts with `__attempted__`); `what.*` the kind of value an input error names; `download.*`,
 * `upload.*` the engines' own problems; `extract.*`, `convert.*` (to MP4), `subtitle.*` the media jobs' own
 * problems; `duration.*` a wait's length; `storage.*` why a storage read of a download failed;
 * `plain` a text from outside (put.io, the system, nodes) shown as it is. The node catalogs hold
 * each under `common.errors.<code>` (test/error-texts.spec.ts keeps them equal).
 */
export const ENGLISH: Readonly<Record<string, string>> = Object.freeze({
  plain: "__text__",

  // What was attempted.
  "op.get-login-code": "get a login code",
  "op.check-login-code": "check the login code",
  "op.validate-token": "validate the access token",
  "op.call-api": "call the put.io API (__method__ __path__)",
  "op.api-request": "__method__ __path__",
  "op.filter-files": "filter files",
  "op.download-limits": "read the download limits",
  "op.list-folder": "list folder __id__",
  "op.search": 'search "__query__"',
  "op.get-file": "get file __id__",
  "op.find-in-folder": 'find "__name__" in folder __id__',
  "op.create-folder": 'create folder "__name__" in folder __id__',
  "op.rename-file": 'rename file __id__ to "__name__"',
  "op.move-file": "move file __id__ to folder __parent__",
  "op.move-files": "move __count__ files to folder __parent__",
  "op.move-file-as": 'move file __id__ to folder __parent__ as "__name__"',
  "op.delete-file": "delete file __id__",
  "op.delete-files": "delete __count__ files",
  "op.get-download-url": "get the download address of file __id__",
  "op.extract": "extract __count__ archive(s)",
  "op.list-extractions": "list extractions",
  "op.remove-extraction": "remove extraction __id__",
  "op.extract-archives-of": "extract the archives of __id__",
  "op.extract-archive": 'extract "__name__"',
  "op.list-subtitles": "list the subtitles of file __id__",
  "op.download-subtitle": "download subtitle __key__ of file __id__",
  "op.write-subtitles": 'write the subtitles of "__name__"',
  "op.get-mp4-status": "get the MP4 status of file __id__",
  "op.convert-mp4": "convert file __id__ to MP4",
  "op.delete-mp4": "delete the MP4 version of file __id__",
  "op.get-mp4-url": "get the MP4 address of file __id__",
  "op.find-mp4-version": "find the MP4 version",
  "op.upload": 'upload "__name__"',
  "op.upload-unnamed": 'upload "(unnamed)"',
  "op.backup": 'back up "__path__"',
  "op.read-file": "read __path__",
  "op.read-config": "read the app config",
  "op.write-config": "write the app config",
  "op.read-config-key": 'read config key "__key__"',
  "op.write-config-key": 'write config key "__key__"',
  "op.delete-config-key": 'delete config key "__key__"',
  "op.list-history": "list the history",
  "op.delete-event": "delete history event __id__",
  "op.clear-history": "clear the history",
  "op.list-rss": "list RSS feeds",
  "op.get-rss": "get RSS feed __id__",
  "op.add-rss": 'add RSS feed "__title__"',
  "op.add-rss-untitled": "add RSS feed",
  "op.change-rss": "change RSS feed __id__",
  "op.pause-rss": "pause RSS feed __id__",
  "op.resume-rss": "resume RSS feed __id__",
  "op.delete-rss": "delete RSS feed __id__",
  "op.read-rss-log": "read the log of RSS feed __id__",
  "op.clear-rss-log": "clear the log of RSS feed __id__",
  "op.retry-rss-all": "retry the failed items of RSS feed __id__",
  "op.retry-rss-item": "retry item __item__ of RSS feed __id__",
  "op.list-transfers": "list transfers",
  "op.get-transfer": "get transfer __id__",
  "op.count-transfers": "count transfers",
  "op.add-transfer": "add transfer __source__",
  "op.retry-transfer": "retry transfer __id__",
  "op.cancel-transfers": "cancel transfer(s) __ids__",
  "op.clean-transfers": "clean transfer(s) __ids__",
  "op.clean-finished-transfers": "clean finished transfers",
  "op.remove-transfers": "remove transfer(s) __ids__",
  "op.find-folder": 'find folder "__path__"',
  "op.list-trash": "list the trash",
  "op.restore-trash": "restore __count__ item(s) from the trash",
  "op.delete-trash": "delete __count__ item(s) from the trash for good",
  "op.empty-trash": "empty the trash",
  "op.zip-file": "zip file __id__",
  "op.zip-files": "zip __count__ files",
  "op.list-zips": "list zips",
  "op.get-zip": "get zip __id__",
  "op.cancel-zip": "cancel zip __id__",
  "op.wait-zip": "wait for zip __id__",
  "op.read-account-info": "read the account info",
  "op.read-account-settings": "read the account settings",
  "op.change-account-settings": "change the account settings",
  "op.download": 'download "__name__"',
  "op.download-job": "download",
  "op.choose-local-name": "choose a local name",
  "op.read-state-file": 'read "__path__"',
  "op.delete-after-download": "delete after download",
  "op.find-path": 'find "__path__" on put.io',

  // An answer of put.io that is an error.
  "api.failed": "put.io: __attempted__ failed: __detail__ (__type__, HTTP __status__). __hint__",
  "api.failed-no-hint": "put.io: __attempted__ failed: __detail__ (__type__, HTTP __status__).",
  "api.http-status": "HTTP __status__",
  "api.zip-failed": "put.io could not build the zip",
  "api.not-on-storage": "the file is not on put.io's storage",
  "api.upload-gone": "put.io no longer knows this upload",
  "api.upload-offset-conflicts": "the upload offset keeps conflicting",
  "api.upload-not-created": "the upload could not be created",

  // What to do about an API error.
  "hint.400": "Check the values sent.",
  "hint.401": "The access token is missing, wrong or revoked: reconnect the put.io account.",
  "hint.402": "The put.io account has no active plan.",
  "hint.403": "put.io refused this for this account.",
  "hint.404": "It does not exist (any more) on put.io.",
  "hint.409": "It conflicts with the current state on put.io.",
  "hint.410": "It has expired on put.io; create it again.",
  "hint.429": "Too many requests: put.io's rate limit was reached.",
  "hint.5xx": "put.io had a server error; try again later.",
  "hint.captcha": "put.io asks for a captcha before it accepts more requests from this address: open __url__ and solve it, then retry.",
  "hint.rate-limit": "Too many requests: put.io's rate limit was reached; retry later.",
  "hint.rate-limit-until": "Too many requests: put.io's rate limit was reached until __until__; retry later.",
  "hint.zip-expired": "The zip expired or never existed (put.io forgets zips after a while): create it again.",
  "hint.zip-failed": "Try again, or download the files one by one.",
  "hint.history-own-apps": "put.io allows deleting history only to its own apps, not to tokens of third-party OAuth apps; clear it at app.put.io instead.",
  "hint.upload-maybe-stored": "It may have been stored as its last part was sent: check the folder on put.io before uploading again.",
  "hint.upload-again": "Upload it again.",

  // No usable answer.
  "network.failed": "put.io: __attempted__ failed: network error (__cause__). Check the network connection and the API address.",
  "network.maybe-taken-effect":
    "put.io: __attempted__ failed: network error (__cause__). The request may have been carried out: check put.io before repeating it.",
  "timeout.connect": "put.io: __attempted__ timed out (no connection). Try again later, or raise the timeout.",
  "timeout.headers": "put.io: __attempted__ timed out (no answer). Try again later, or raise the timeout.",
  "timeout.body": "put.io: __attempted__ timed out (the answer stalled). Try again later, or raise the timeout.",
  "abort.aborted": "put.io: __attempted__ was aborted.",
  "schema.unexpected": "put.io: __attempted__: unexpected answer: __field__ __problem__. The put.io API may have changed; please report this.",
  "schema.body": "(body)",
  "schema.missing": "is missing",
  "schema.invalid": "is invalid",
  "schema.not-json": "is not JSON (__bytes__ bytes)",
  "schema.no-mp4-address": "put.io answered without the address of the MP4",

  // Bad input, caught before any call.
  "input.other": "__attempted__: __problem__",
  "input.name-empty": "__attempted__: the name is empty",
  "input.name-unusable": '__attempted__: "__name__" is not a usable name',
  "input.name-has-slash": '__attempted__: the name "__name__" contains "/"',
  "input.name-has-nul": "__attempted__: the name contains a NUL character",
  "input.name-too-long": "__attempted__: the name is longer than 255 bytes",
  "input.invalid-id": "__attempted__: __value__ is not a valid __what__",
  "input.not-an-id": "__attempted__: __value__ is not a __what__",
  "input.root-id": '__attempted__: id 0 is put.io\'s root folder ("Your Files"), which is never deleted, moved or renamed: check where the id comes from',
  "input.field-unreadable": '__attempted__: reading the field "__key__" of __object__ failed: __detail__',
  "input.no-file-ids": "__attempted__: no file ids given",
  "input.no-transfer-ids": "__attempted__: no transfer ids given",
  "input.move-refused": "__attempted__: put.io refused it (__type__)",
  "input.search-empty": "__attempted__: the search text is empty",
  "input.time-window": '__attempted__: "__value__" is not a time window like 01:00-07:00',
  "input.cannot-read": "__attempted__: cannot read __path__: __detail__",
  "input.cannot-read-it": "__attempted__: cannot read it: __detail__",
  "input.not-a-file": "__attempted__: __path__ is not a file",
  "input.upload-answer-unknown": "__attempted__: put.io answered with neither a file nor a transfer",
  "input.no-api-path": "__attempted__: no API path given (e.g. /v2/account/info)",
  "input.api-path-is-url": "__attempted__: the path must be a put.io API path like /v2/files/list, not a URL",
  "input.api-query-in-path": "__attempted__: put the query parameters in msg.payload, not in the path",
  "input.api-bad-escape":
    '__attempted__: the path segment "__segment__" has a "%" that is not a complete UTF-8 escape (like %C3%A9): write a literal "%" as %25',
  "input.api-segment-not-allowed": '__attempted__: "__segment__" is not allowed in an API path',
  "input.api-not-a-method": '__attempted__: "__method__" is not an HTTP method (__methods__)',
  "input.api-params-not-object": "__attempted__: the parameters must be an object",
  "input.api-param-is-object": '__attempted__: parameter "__key__" is an object: send it as JSON (encoding "json") or as text',
  "input.api-param-wrong-type": '__attempted__: parameter "__key__" is a __type__ (__value__): send text, a number or true/false',
  "input.api-params-circular": "__attempted__: the parameters cannot be sent as JSON (it refers to itself): __value__",
  "input.api-params-bigint": "__attempted__: the parameters cannot be sent as JSON (it holds a BigInt): __value__",
  "input.api-params-unreadable": "__attempted__: the parameters cannot be sent as JSON (a value cannot be read): __value__",
  "input.not-a-date": '__attempted__: __what__ "__value__" is not a date',
  "input.bad-name-pattern": "__attempted__: the name pattern is not a valid regular expression: __detail__",
  "input.bad-config-key": "__attempted__: __value__ is not a valid config key",
  "input.feed-not-object": "__attempted__: the feed settings must be an object",
  "input.feed-field-not-text": "__attempted__: __key__ must be text, got __value__",
  "input.feed-field-not-boolean": "__attempted__: __key__ must be true or false, got __value__",
  "input.feed-url-not-http": '__attempted__: "__url__" is not an http(s) feed URL',
  "input.feed-needs-title": "__attempted__: the feed needs a title",
  "input.feed-needs-url": "__attempted__: the feed needs a source URL",
  "input.feed-title-empty": "__attempted__: the title is empty",
  "input.transfer-url-empty": "__attempted__: the URL or magnet is empty",
  "input.not-a-path": "__attempted__: __value__ is not a path",
  "input.path-climbs": '__attempted__: the path "__path__" contains "__part__"',
  "input.is-a-file": '__attempted__: "__path__" is a file, not a folder',
  "input.does-not-exist": '__attempted__: "__path__" does not exist on put.io',
  "input.not-absolute-target": '__attempted__: the target folder "__path__" is not an absolute path',
  "input.target-unreachable": '__attempted__: the target folder "__path__" cannot be used: "__at__" is not reachable (__detail__)',
  "input.target-part-not-folder": '__attempted__: the target folder "__path__" cannot be used: "__at__" is not a folder',
  "input.target-nothing-exists": '__attempted__: the target folder "__path__" cannot be used: no part of it exists',
  "input.target-not-created": '__attempted__: the target folder "__path__" could not be created: "__at__" (__detail__)',
  "input.target-not-writable": '__attempted__: the target folder "__path__" is not writable (__detail__)',
  "input.outside-target": '__attempted__: "__path__" is not inside the target folder "__base__"',
  "input.link-outside-target": '__attempted__: "__path__" is a link that leads outside the target folder: nothing is written through it',
  "input.not-a-folder": '__attempted__: "__path__" is not a folder',
  "input.local-symlink": '__attempted__: "__path__" is a symbolic link: node-red-putio does not write through or replace links; move or remove it',
  "input.appeared-meanwhile":
    '__attempted__: "__path__" appeared while the file was downloaded and was left alone; the verified download stays in "__part__" and is used by the next run',
  "input.foreign-temp-symlink": '__attempted__: "__path__" is a symbolic link; node-red-putio did not create it and left it alone: move or remove it',
  "input.foreign-temp-not-file": '__attempted__: "__path__" is not a file; node-red-putio did not create it and left it alone: move or remove it',
  "input.foreign-temp-no-state":
    '__attempted__: "__path__" exists without a download state; node-red-putio did not create it and left it alone: move or remove it',
  "input.foreign-temp-state":
    '__attempted__: "__path__" is not a download state of this package; node-red-putio did not create it and left it alone: move or remove it',
  "input.password-not-text": "__attempted__: the archive password must be text",
  "input.password-has-nul": "__attempted__: the archive password contains a NUL character",
  "input.password-too-long": "__attempted__: the archive password is longer than __max__ characters",
  "input.no-folder": "__attempted__: the file has no folder",
  "input.not-an-archive": '__attempted__: "__name__" is not an archive put.io extracts (zip, rar, or a part of a multi-part set)',
  "input.not-a-video": '__attempted__: "__name__" is not a video',
  "input.video-path-not-absolute": "__attempted__: the video's local path must be an absolute path",
  "input.not-a-language": "__attempted__: __value__ is not a subtitle language code (like eng or tur)",
  "input.not-a-language-list": "__attempted__: __value__ is not a list of subtitle languages",
  "input.not-a-subtitle-key": "__attempted__: __value__ is not a subtitle key",
  "input.not-a-subtitle-format": "__attempted__: __value__ is not a subtitle format (srt or webvtt)",

  // The kind of value an input error names.
  "what.id": "id",
  "what.file-id": "file id",
  "what.folder-id": "folder id",
  "what.file-or-folder-id": "file or folder id",
  "what.transfer-id": "transfer id",
  "what.transfer-id-or-transfer": "transfer id or transfer",
  "what.event-id": "event id",
  "what.feed-id": "feed id",
  "what.item-id": "item id",
  "what.zip-id": "zip id",
  "what.extraction-id": "extraction id",
  "what.created-before": "created before",
  "what.created-after": "created after",
  "what.part-file": "the .part file",

  // The download engine.
  "download.size-mismatch":
    'put.io: __attempted__ failed: the size is __size__ bytes, put.io says __expected__ after __count__ full downloads; the partial file was removed and nothing was written at "__path__".',
  "download.crc-mismatch":
    'put.io: __attempted__ failed: the CRC32 is __crc__, put.io says __expected__ after __count__ full downloads; the partial file was removed and nothing was written at "__path__".',
  "download.write-failed": '__attempted__ failed: could not write "__path__" (__detail__). The partial file was removed.',
  "download.disk-full": '__attempted__ failed: could not write "__path__" (__detail__): the disk is full. The partial file was removed.',
  "download.no-space": '__attempted__: not enough free space in "__dir__" (__need__ bytes needed, __free__ free).',
  "download.no-free-name": '__attempted__: no free name for "__name__" in "__dir__"',
  "download.failed-part-kept":
    'put.io: download of "__name__" failed after __count__ attempts: __reason__. The partial file was kept: the next download of this file resumes it.',
  "download.failed-part-removed":
    'put.io: download of "__name__" failed after __count__ attempts: __reason__. The storage does not resume downloads, so the partial file was removed.',
  "download.same-path-twice": '__attempted__: put.io files __first__ and __second__ were both reported at "__path__": nothing was deleted on put.io',
  "download.not-on-disk": '__attempted__: "__path__" is not on disk as downloaded (put.io file __id__): nothing was deleted on put.io',

  // Why a storage read of a download failed (the reason of download.failed-*).
  "storage.no-data-seconds": "no data for __seconds__ s",
  "storage.no-data-ms": "no data for __ms__ ms",
  "storage.too-many-redirects": "storage redirected more than 5 times",
  "storage.address-expired": "the download address expired (HTTP __status__)",
  "storage.status": "storage answered HTTP __status__",
  "storage.range-refused": "storage refused the range __from__-__to__",
  "storage.no-content-range": "storage answered 206 without a usable Content-Range",
  "storage.size-differs": "storage says the file has __size__ bytes, put.io said __expected__",
  "storage.wrong-start": "storage sent bytes from __from__ instead of __expected__",
  "storage.ranges-ignored": "storage ignored the Range header",
  "storage.connection-broke": "the connection broke (__detail__)",
  "storage.ended-early": "the connection ended early at byte __pos__",
  "storage.local-ended": "the local file ended at byte __pos__",
  "storage.chunk-line-too-long": "storage sent a malformed chunked body (line too long)",
  "storage.bad-chunk-size": "storage sent a malformed chunked body (bad chunk size)",
  "storage.no-crlf-after-chunk": "storage sent a malformed chunked body (no CRLF after a chunk)",
  "storage.bad-status-line": "storage sent a malformed status line",
  "storage.bad-header-line": "storage sent a malformed header line",
  "storage.bad-content-length": 'storage sent an invalid Content-Length "__value__"',
  "storage.head-too-large": "storage sent a response head over 64 KiB",
  "storage.closed-mid-body": "storage closed the connection before the body was complete",
  "storage.closed-before-answer": "storage closed the connection before answering",
  "storage.no-head-within": "storage sent no response head within __seconds__ s",
  "storage.no-connect-within": "could not connect to storage within __seconds__ s",
  "storage.bad-header-name": "invalid header __name__",
  "storage.bad-url": "not a valid storage URL",
  "storage.bad-url-scheme": "unsupported storage URL scheme __scheme__",

  // The upload engine.
  "upload.crc-mismatch":
    "__attempted__: put.io stored a file (id __id__) whose CRC32 __remote__ differs from the local file's __local__. Delete it on put.io and upload again.",
  "upload.file-changed": "__attempted__: the local file changed while it was uploaded; upload it again when it is not being written",

  // The backup of a local folder (lib/backup/): why one path was not backed up.
  "backup.no-file-types": "a backup cannot filter by put.io file type (local files have none): filter by extensions instead",
  "backup.reserved-name": 'names starting with "__prefix__" are reserved for the backup\'s temporary copies',
  "backup.name-clash": 'its name differs from "__other__" only in Unicode form, which put.io may take for one name: "__other__" is backed up',
  "backup.file-in-the-way": "a file of this name is in the put.io folder, so the folder cannot be backed up there",
  "backup.folder-in-the-way": "a folder of this name is in the put.io folder",
  "backup.ambiguous": "__count__ items of this name are in the put.io folder and none matches: rename or remove the extra ones",
  "backup.cannot-read": "cannot read it (__detail__)",
  "backup.cannot-read-folder": '__attempted__: cannot read the local folder "__path__" (__detail__)',
  "backup.name-not-utf8": "its name is not valid UTF-8, which put.io cannot store",
  "backup.symlink": "a symbolic link: links are not followed",
  "backup.special-file": "not a regular file (a socket, FIFO or device)",
  "backup.download-part": "an unfinished download of the download node (its temporary file)",
  "backup.too-deep": "more than 64 folders deep",
  "backup.no-folder": "its put.io folder could not be created",
  "backup.not-a-file-now": "it is no longer a regular file",
  "backup.kept-changing": "it changed while it was uploaded, __attempts__ times (each copy was removed): back it up again when it is not being written",

  // Extractions on put.io (lib/media-jobs/extract.ts): the message of a PutioExtractionError.
  "extract.incomplete": '"__name__" is a multi-part archive with parts missing (__missing__): put.io cannot extract it until every part is there',
  "extract.not-started": 'put.io did not start extracting "__name__"',
  "extract.vanished": 'the extraction of "__name__" left put.io\'s list before it finished (removed meanwhile?)',
  "extract.timeout": 'put.io did not finish extracting "__name__" within __duration__',
  "extract.wrong-password": 'put.io could not open "__name__" with the password given: check the password',
  "extract.password-required": '"__name__" is protected by a password: give it in the node or as msg.password',
  "extract.failed": 'put.io could not extract "__name__": __reason__. Files it wrote before the failure stay on put.io',
  "extract.no-reason": "no reason given",
  "extract.nothing-out": 'put.io extracted "__name__" but nothing came out to download: the job is not done, and nothing was deleted',
  "download.mp4-gone": 'the MP4 version of "__name__" is no longer ready on put.io (status __status__)',
  "download.not-proven":
    '__attempted__: nothing proves that "__path__" holds the bytes of put.io file __id__ (put.io gives no CRC32 for it and this job did not fetch them): nothing was deleted on put.io',
  "download.source-no-file-yet": "__attempted__: transfer __id__ has no file yet (status __status__): download it once it is completed",
  "download.bad-source": '__attempted__: expected a put.io file or folder id, a path like "/Movies", a file object or a transfer, got __value__',
  "local.state-file-damaged": '__attempted__: the file is damaged (__detail__); it was kept as "__aside__" and work goes on without it',
  "local.state-file-unreadable": "__attempted__ failed (__detail__): the file is left as it is and not written to until the next start",
  "local.path-too-long":
    '__attempted__: the local path is too long for the file system (__length__ bytes): "__path__"; choose a shorter target folder or shorter names. Nothing was written or deleted.',

  // Conversions to MP4 on put.io (lib/media-jobs/mp4.ts): the message of a PutioMp4Error.
  "convert.failed": "put.io could not convert file __id__ to MP4: try again later, or download the original",
  "convert.vanished": "the MP4 conversion of file __id__ is gone (removed meanwhile?)",
  "convert.timeout": "put.io did not finish converting file __id__ to MP4 within __duration__",

  // Subtitles written beside a video (lib/media-jobs/subtitles.ts): one language's failure.
  "subtitle.unusable-name": '__attempted__: "__name__" is not a usable file name',
  "subtitle.empty": "__attempted__: put.io sent an empty __language__ subtitle",
  "subtitle.short-write": "__attempted__: wrote __size__ of __expected__ bytes",
  "subtitle.target-is-link": '__attempted__: "__path__" is a symbolic link: it is left alone',
  "subtitle.target-not-file": '__attempted__: "__path__" is not a file: it is left alone',
  "subtitle.user-file-kept": '__attempted__: "__path__" is a subtitle file node-red-putio did not write; it was kept and put.io\'s subtitle was not written',

  // A wait's length in a message.
  "duration.seconds": "__n__ s",
  "duration.minutes": "__n__ min",
  "duration.hours": "__n__ h",

  // The realtime socket.
  "op.socket-connect": "connect to put.io's realtime socket",
  "socket.stalled": "put.io socket stalled: not connected and no reconnect under way for __seconds__ s; reconnecting now",

  // An HTTP proxy's own failures (lib/core/proxy.ts).
  "proxy.failed": "put.io: __attempted__ failed: __reason__",
  "proxy.bad-url": "the proxy setting is not a valid URL",
  "proxy.bad-scheme": "the proxy URL scheme __scheme__ is not supported: use http:// or https://",
  "proxy.auth": "the proxy __proxy__ asks for credentials (HTTP 407): set the user and password in the account's http proxy node, or in the proxy URL",
  "proxy.auth-refused": "the proxy __proxy__ refused the credentials (HTTP 407): check the user and password of the account's proxy",
  "proxy.status": "the proxy __proxy__ answered HTTP __status__ instead of connecting to __target__",
  "proxy.unreachable": "could not connect to the proxy __proxy__ (__detail__)",
  "proxy.timeout": "no connection through the proxy __proxy__ within __seconds__ s",
  "proxy.bad-answer": "the proxy __proxy__ sent a malformed answer",
  "proxy.closed": "the proxy __proxy__ closed the connection before answering",
  // The Transmission node asking Sonarr's or Radarr's own API what it imported (lib/transmission/app-api.ts).
  "app.use": "use the app's API",
  "app.ask-history": "ask __app__ whether it imported the download",
  "app.ask-queue": "read the queue of __app__",
  "app.bad-url": '"__url__" is not the address of an app: give it as http://host:port (with the app\'s URL base, if it has one)',
  "app.no-key": "no API key is set for __app__: copy it from the app's Settings → General → Security",
  "app.key-refused": "__app__ refused the API key (HTTP __status__): copy it again from the app's Settings → General → Security",
  "app.status": "__app__ answered HTTP __status__",
  "app.timeout": "__app__ did not answer within __seconds__ s",
  "app.unreachable": "could not reach __app__: __detail__",
  "app.bad-answer": "__app__ did not answer as Sonarr's or Radarr's v3 API does (__detail__): is it the app's address?",

  // Copies between two accounts (lib/copy/).
  "op.copy-between-accounts": "copy __id__ into folder __folder__ of the other account",
  "op.copy-file": 'copy "__path__" to the other account',
  "op.copy-folder": 'create folder "__path__" on the other account',
  "copy.bad-url": "__attempted__: put.io gave a download address that is not a URL",
  "copy.url-has-token": "__attempted__: put.io gave a download address with an access token in it: it is not handed to the other account",
  "copy.target-not-folder": '__attempted__: "__name__" on the other account is a file, not a folder',
  "copy.file-in-the-way": '__attempted__: a file "__name__" is where the folder goes on the other account',
  "copy.folder-failed": '__attempted__: skipped, its folder "__folder__" could not be made on the other account',
  "copy.name-taken": '__attempted__: "__name__" is already in the folder on the other account with other content: it was left as it is',
  "copy.same-name-twice": '__attempted__: another file of its folder is also named "__name__": only the first one is copied',
  "copy.queue-full": "__attempted__: the other account took no more transfers after __count__ tries (__detail__)",
  "copy.transfer-gone": "__attempted__: its transfer left the other account's list before it finished",
  "copy.transfer-failed": "__attempted__: put.io on the other account could not fetch it (__detail__)",
  "copy.size-mismatch": "__attempted__: the copy has __size__ bytes, the source __expected__; the copy was moved to the trash",
  "copy.crc-mismatch": "__attempted__: the copy's CRC32 is __crc__, the source's __expected__; the copy was moved to the trash",
  "copy.folder-in-the-way": '__attempted__: a folder "__name__" is where the file goes on the other account: it was left as it is',
  "copy.disk-full": "__attempted__: the other account's disk is full (__avail__ bytes free, the file has __size__)",
  "copy.duplicate-transfer": "__attempted__: put.io kept answering another copy's transfer of this file; try again when that copy is done",
  // The folder sync (lib/sync).
  "op.sync": "sync the put.io folder __folder__ to __target__",
  "op.sync-file": 'sync "__path__"',
  "sync.no-folder": "__attempted__: the put.io folder __folder__ does not exist",
  "sync.not-a-folder": "__attempted__: __folder__ on put.io is not a folder",
  "sync.user-file": '__attempted__: "__path__" exists locally, was not written by the sync and differs from put.io\'s file: it is left alone',
  "sync.not-a-file": '__attempted__: "__path__" is a folder or a link locally: it is left alone',
  "sync.taken": '__attempted__: "__path__" still holds another synced file: this one follows once that file has moved',
  "sync.unsafe-folder": '__attempted__: "__path__" is a link or not a folder: nothing is written through it',
  "sync.changed-meanwhile": '__attempted__: "__path__" appeared, changed or went away locally during the run: it is left alone',
  "sync.parent-not-folder": '__attempted__: a folder of "__path__" is a file or a link locally: it is left alone',
  "sync.not-downloaded": '__attempted__: the download of "__path__" ended without a file',
  "sync.listing-short":
    "__attempted__: put.io's listing of __folder__ holds __count__ of __total__ items and __listed__ of __size__ bytes: nothing is trashed or forgotten in this run",
  "sync.removal-waits":
    "__attempted__: __count__ local files that put.io's listing lacks stay until the next run finds them missing too (the listing could not be checked against the folder's size)",
  "sync.user-file-no-crc":
    '__attempted__: "__path__" exists locally and was not written by the sync; put.io gives no CRC32 to prove it is put.io\'s file (a size match is no proof): it is left alone',

  // The Transmission node's torrents.
  "op.transmission-local": "clean up a removed torrent's local files",
  "transmission.transfer-gone": "the put.io transfer is gone (removed on put.io before it finished)",
  "transmission.putio-error": "put.io could not download it: __message__",
  "transmission.putio-failed": "put.io could not download it",
  "transmission.no-files": "put.io produced no files for this torrent",
  "transmission.archives-only": "put.io produced only archives (__names__): there is nothing the app could import",
  "transmission.copy-failed": "__count__ file(s) could not be copied from put.io; first: __name__: __error__",
  "transmission.copy-error": "copying from put.io failed: __error__",
  "transmission.not-on-disk": '"__path__" is not on disk as it was verified',
  "transmission.outside-folder": '"__path__" is outside the download folder',
  "transmission.link-outside": '__attempted__: "__path__" leads outside the download folder (a link): nothing is written or deleted there',
  "transmission.cleanup-slow": "put.io did not answer in time: the clean-up goes on in the background",
  "transmission.owner-not-permitted":
    'could not give "__path__" to __owner__: not permitted (Node-RED does not run as root: leave uid and gid empty, or run Node-RED as root or with CAP_CHOWN)',
  "transmission.owner-failed": 'could not set the owner or mode of "__path__" (__owner__): __error__',
});
