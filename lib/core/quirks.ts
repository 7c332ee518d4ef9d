/**
 * put.io's quirks: where put.io behaves in a way a client would not guess, the fact, briefly, and
 * where it is handled. The values code depends on live here; the rest is a map to the one place
 * that handles each. The emulator (test/emulator/) reproduces these facts; a new quirk is written
 * here first, then handled in one place that points back here.
 *
 * Transfers
 * - Statuses: IN_QUEUE, WAITING, PREPARING_DOWNLOAD, WAITING_FOR_DOWNLOADER, DOWNLOADING,
 *   WAITING_FOR_COMPLETE_QUEUE, COMPLETING, STOPPING, PREPARING_SEED, SEEDING, COMPLETED, ERROR.
 *   A finished torrent goes through PREPARING_SEED and SEEDING (file_id and finished_at already
 *   set, files usable) before COMPLETED; put.io's CLI (putio-cli) stops watching at SEEDING. So "done" is
 *   any of the three, and "finished" (put.io changes nothing more by itself) adds ERROR:
 *   TRANSFER_DONE_STATUSES below. Used by statusClass (domains/transfers.ts: the watch node's one
 *   "COMPLETED" class per transfer) and the events node (a finished transfer adds a history event).
 * - Seeding: a SEEDING transfer carries current_ratio (a string "0.00" in old answers, a number
 *   in newer ones), uploaded and seconds_seeding; transfers/cancel on a SEEDING transfer stops the
 *   seeding (→ COMPLETED, files kept) instead of removing it. The Transmission node reports it as
 *   Transmission's seeding and stops it at the app's goal (transmission/manager.ts applySeeding,
 *   checkSeedGoal). Whether put.io pushes ratio changes on the socket is unknown: the account
 *   watcher's list reads bring them (every transfer is passed on at each reconcile).
 * - transfers/clean removes COMPLETED and ERROR entries; seeding ones stay listed
 *   (TRANSFER_CLEANED_STATUSES; the dry run of the transfer action lists exactly these).
 * - Adding a magnet or URL that is still an active transfer answers the existing transfer (same
 *   id), not an error (nodes/putio-transfer-add.ts). transfers/add is not idempotent: never retried
 *   after a network error (domains/transfers.ts). So two copies between accounts of one file (the
 *   same storage URL) get one transfer: it belongs to the job that added it; the other waits until
 *   that job is done with it, then looks again (lib/copy/copy-file.ts). An add whose answer was lost
 *   (5xx, cut connection) may have taken effect: the copier looks for its URL in the target's
 *   transfer list before adding again (lib/copy/copy-file.ts).
 * - Cancel and remove ignore unknown ids; retry of a healthy transfer is a no-op (both safe to
 *   repeat; the transfer action checks ids first so a typo is an error: nodes/putio-transfer-action.ts).
 * - The callback_url POST's fields are not documented (a known consumer reads file_id and name):
 *   its id is a hint, and an unknown one costs a reconcile (watch/watcher.ts).
 * - How put.io names the file of a URL transfer (the URL's last path segment, the storage's
 *   Content-Disposition name?) is unpublished (neither putio-api.md nor the recorded answers show a
 *   finished URL transfer of a storage URL): the copy between accounts renames each copy to the
 *   source's name once verified, and a re-run knows its strays by its journal, size and CRC32, not
 *   by a name (lib/copy/finish.ts, adopt.ts); the emulator takes the last path segment (the file id).
 * - put.io limits active transfers per account; the number and the error it answers are
 *   unpublished: the copier treats a 403/429 or a TOO_MANY/LIMIT type on add as "wait and retry"
 *   with backoff (lib/copy/copy-file.ts); the emulator answers 403 TOO_MANY_ACTIVE_TRANSFERS (knob).
 * - What transfers/add answers when the account's disk is full is unpublished too (an old client's
 *   issue only says the web site shows an error). A 403 is also "too many active transfers", so
 *   a refusal with a status of DISK_FULL_STATUSES, or a type matching DISK_FULL_TYPE, is checked
 *   against account/info's disk.avail and said at once, not waited out (lib/copy/copy-file.ts). The
 *   emulator (knobs.diskSize) answers 403 NOT_ENOUGH_DISK_SPACE, a type of its own.
 * - Storage URLs from files/{id}/url may be valid only from the IP that asked (unconfirmed): a
 *   URL transfer of one on another account would then end in ERROR, reported per file (lib/copy/).
 * - Socket pushes `transfer_update` on every progress tick: only a new status is worth a request
 *   (watch/watcher.ts); the ticks themselves go to the watcher's observers as pushed (the editor's
 *   sidebar shows the percent from them, unchecked, at no request).
 *
 * Errors and limits
 * - TRASH_LOCK_TIMEOUT: put.io serialises trash operations per account; a concurrent delete answers
 *   this error without deleting anything, so it is retried whatever the method (core/transport.ts).
 * - invalid_scope: a 401 that refuses one route to this kind of token (tokens of third-party OAuth
 *   apps may not delete history), not a bad token: it must not mark the account unauthorized
 *   (core/transport.ts, nodes/common/errors.ts) and gets its own message (domains/events.ts).
 * - 429: x-ratelimit-reset is epoch seconds (whole seconds, so +1 s), else retry-after; with
 *   `x-ratelimit-action: captcha-needed` only a human can continue (core/transport.ts).
 * - Largest page: per_page=1000 (1001 answers 400): clampPerPage (core/wire.ts). Lists go on with
 *   POST <route>/continue and the cursor until it is null (core/paginate.ts).
 * - Id lists are sent comma-separated (file_ids=1,2,3) (core/request.ts).
 *
 * Files
 * - Dates are `YYYY-MM-DDTHH:MM:SS` in UTC without a zone; older events use a space, some objects
 *   are date-only: parsePutioDate (core/wire.ts).
 * - The root ("Your Files") is id 0; deleting, moving or renaming it is refused before any call
 *   (checkNotRoot, core/wire.ts).
 * - Move answers HTTP 200 with per-item errors (domains/files.ts, nodes/putio-file-action.ts).
 * - Create-folder and rename answer NAME_ALREADY_EXIST for a taken name; uploads may duplicate
 *   names (domains/paths.ts creates folders one at a time per path).
 * - Search lags new files by seconds and ignores type filters (domains/files.ts).
 * - Download: files/{id}/url gives a storage address that expires (403 or 410: ask for a new one);
 *   storage and put.io's download routes may answer 301/302/303/307/308 to another storage host
 *   (tunnel or CDN), followed for at most 5 hops; ranges answer 206 (download/engine.ts).
 * - Tus upload: put.io reports the file id and its CRC32 in headers of the final PATCH
 *   (Putio-File-Id, Putio-File-Crc32); a .torrent becomes a transfer and reports no file
 *   (upload/engine.ts). The multipart upload answers {transfer} instead of {file} for a .torrent
 *   (domains/upload.ts).
 * - crc32 is the standard (zlib) CRC-32 of the whole file as 8 lower-case hex digits (core/crc.ts).
 *
 * Other domains
 * - Zips: an unknown id answers 410 LINK_EXPIRED like an expired zip (domains/zips.ts).
 * - Trash restore: 404 TRASH_FILE_NOT_FOUND for unknown ids (domains/trash.ts).
 * - oauth/validate answers 200 with result:false for a bad token, not a 401 (domains/oauth.ts);
 *   the device-code check answers 404 for an unknown or expired code (nodes/common/login-routes.ts).
 * - Config: an unset key answers value: null (domains/config.ts).
 * - Account settings are taken as a JSON body (domains/account.ts); RSS create takes a true flag
 *   as `on`, update takes true/false (domains/rss.ts).
 * - Socket: the first frame sent is the token; a bad token closes with 4001 and is not retried
 *   (core/socket.ts).
 *
 * Archives, subtitles, MP4
 * - Extraction statuses: NEW, SENT_TO_QUEUE, EXTRACTING, EXTRACTED, ERROR, PASSWORD,
 *   PASSWORD_OBTAINED (one older answer also shows IN_QUEUE, "Added to queue"). PASSWORD means the
 *   archive needs a (different) password; asking again with one gives PASSWORD_OBTAINED under the
 *   same extraction id. EXTRACTION_STATUS below; read in lib/media-jobs/extraction.ts (failIfBad).
 * - A multi-part set is one extraction of its first volume (num_parts counts the volumes); which
 *   volume is first is read from the names (lib/media-jobs/archive-sets.ts).
 * - An extraction's `files` holds integer ids in the official SDK and file objects in an older
 *   answer; what they name is not documented. lib/domains/extract.ts reads both, and
 *   lib/media-jobs/extraction.ts finds the extracted files as what appeared in the archive's folder.
 * - No socket push reports extractions (the push types are transfer, file, zip, mp4 and account
 *   ones): extraction is followed by polling its list (lib/media-jobs/extraction.ts). put.io's messages
 *   for PASSWORD and ERROR are not published; they are shown as they come.
 * - MP4: statuses NOT_AVAILABLE, IN_QUEUE, CONVERTING (percent_done), COMPLETED (size), ERROR;
 *   starting one that runs or is done answers its state; a folder answers 400 NotFile; the
 *   `mp4_update` push carries {id, status, percent_done}; delete has answered an empty 200
 *   (lib/domains/media.ts, lib/media-jobs/mp4.ts).
 * - Subtitles: language codes are three letters ("eng"); language_code is missing from some older
 *   answers; the key "default" picks put.io's choice; the subtitle download may redirect
 *   (lib/domains/media.ts, lib/media-jobs/subtitles.ts).
 */

/** Transfer statuses in which the download is done and the files are usable. */
export const TRANSFER_DONE_STATUSES: ReadonlySet<string> = new Set(["PREPARING_SEED", "SEEDING", "COMPLETED"]);

/** Done: the files are usable (PREPARING_SEED and SEEDING included). */
export function isTransferDone(status: string): boolean {
  return TRANSFER_DONE_STATUSES.has(status);
}

/** Finished: put.io will not change the transfer by itself any more (done, or ERROR). */
export function isTransferFinished(status: string): boolean {
  return status === "ERROR" || isTransferDone(status);
}

/** What transfers/clean removes; seeding transfers stay listed. */
export const TRANSFER_CLEANED_STATUSES: ReadonlySet<string> = new Set(["COMPLETED", "ERROR"]);

/** error_type of a trash operation refused because another one runs: retried (core/transport.ts). */
export const TRASH_LOCK_TIMEOUT = "TRASH_LOCK_TIMEOUT";

/** create-folder, rename and move's answer for a name taken in the folder (see Files). */
export const NAME_TAKEN = "NAME_ALREADY_EXIST";

/** Refusals of transfers/add that may mean a full disk (see Transfers; put.io's answer is unpublished). */
export const DISK_FULL_STATUSES: readonly number[] = [403, 413, 507];
export const DISK_FULL_TYPE = /DISK|SPACE|STORAGE|QUOTA/i;

/** error_type of a 401 that refuses one route to this kind of token; the token itself is fine. */
export const INVALID_SCOPE = "invalid_scope";

/** Extraction statuses that end an extraction (PASSWORD waits for another password, which ends this attempt). */
export const EXTRACTION_STATUS = { done: "EXTRACTED", failed: "ERROR", needsPassword: "PASSWORD" } as const;

/** MP4 conversion statuses the waiting code decides on. */
export const MP4_STATUS = { none: "NOT_AVAILABLE", done: "COMPLETED", failed: "ERROR" } as const;
