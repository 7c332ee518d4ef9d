/**
 * Subtitles beside a downloaded video, named as Jellyfin and Plex pick them up:
 * `<video name without extension>.<language>.srt` in the video's folder. One file per language, in
 * the order asked, each written through a temp file and a no-clobber commit (never through a link),
 * checked non-empty, and left alone when the same bytes are already there. A subtitle file the
 * package did not write (the user's own) is never replaced: that language fails and says so.
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { PutioError, PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { t, type TextOrString } from "../core/texts";
import { checkLanguageCode, checkLanguages, type PutioSubtitle } from "../domains/media";
import { lstatOrNull, nodeFs, OPEN, removeIfPresent, type LocalFs } from "../local/fs";
import { localClaims } from "../local/claims";
import { NameTakenError, commitNoClobber, commitReplacing } from "../local/commit";
import { ownershipLedger, type OwnershipLedger } from "../local/ownership";
import { crc32, crcHex } from "../core/crc";
import { checkId } from "../core/wire";
import type { PutioClient } from "../client";

export interface SubtitleOptions {
  /** Languages in order ("eng,tur" or a list); none: the account's subtitle languages. */
  languages?: string[] | string;
  signal?: AbortSignal;
  /** The file system (tests inject failures); node:fs by default. */
  fs?: LocalFs;
  /** What this package wrote: only those subtitle files are replaced (default: the process's in-memory ledger). */
  ledger?: OwnershipLedger;
}

export type SubtitleOutcomeStatus = "written" | "identical" | "missing" | "failed";

export interface SubtitleOutcome {
  language: string;
  status: SubtitleOutcomeStatus;
  /** The local file (written or identical). */
  path?: string;
  /** Where put.io found it (folder, mkv, opensubtitles). */
  source?: string | null;
  /** Why it failed (a 404, an empty subtitle, a link in the way). */
  error?: Error;
}

export interface SubtitleResult {
  written: number;
  identical: number;
  /** Languages put.io has no subtitle for. */
  missing: string[];
  failed: Array<{ language: string; error: Error }>;
  outcomes: SubtitleOutcome[];
}

/** Two- and three-letter codes of the same language, so "en" finds put.io's "eng". */
const ALIASES: string[][] = [
  ["en", "eng"],
  ["de", "ger", "deu"],
  ["fr", "fre", "fra"],
  ["tr", "tur"],
  ["es", "spa"],
  ["it", "ita"],
  ["nl", "dut", "nld"],
  ["pt", "por"],
  ["sv", "swe"],
  ["da", "dan"],
  ["no", "nor"],
  ["fi", "fin"],
  ["pl", "pol"],
  ["ru", "rus"],
  ["ja", "jpn"],
  ["ko", "kor"],
  ["zh", "chi", "zho"],
  ["ar", "ara"],
  ["el", "gre", "ell"],
  ["he", "heb"],
];

/** The codes put.io may list a language under (the code itself and its other forms). */
function aliasesOf(code: string): string[] {
  return ALIASES.find((group) => group.includes(code)) ?? [code];
}

function sameLanguage(a: string, b: string): boolean {
  if (a === b) return true;
  return ALIASES.some((group) => group.includes(a) && group.includes(b));
}

/** A subtitle body that holds nothing but a byte-order mark and white space is empty. */
function isBlank(body: Buffer): boolean {
  return (
    body
      .toString("utf8")
      .replace(/^\ufeff/, "")
      .trim() === ""
  );
}

async function sameBytes(fs: LocalFs, file: string, body: Buffer): Promise<boolean> {
  const fh = await fs.open(file, OPEN.readOnly);
  try {
    const { size } = await fh.stat();
    if (size !== body.length) return false;
    const buf = Buffer.alloc(size);
    for (let off = 0; off < size;) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (!bytesRead) return false;
      off += bytesRead;
    }
    return buf.equals(body);
  } finally {
    await fh.close();
  }
}

/**
 * Writes `body` to `target` through a fresh temp file in the same folder; checks the size written.
 * `replace`: the file there now, this package's own earlier subtitle (only that is replaced).
 */
async function writeAtomically(
  fs: LocalFs,
  dir: string,
  target: string,
  body: Buffer,
  attempted: TextOrString,
  replace: { dev: number; ino: number; size: number; mtimeMs: number } | null,
): Promise<void> {
  // Short and fixed in form, whatever the target's length (a long name plus a suffix could pass 255 bytes).
  const tmp = path.join(dir, `.putio-subtitle-${randomBytes(8).toString("hex")}.tmp`);
  try {
    const fh = await fs.open(tmp, OPEN.createNew, 0o644);
    try {
      for (let off = 0; off < body.length;) off += (await fh.write(body, off, body.length - off, off)).bytesWritten;
      await fh.sync();
      const { size } = await fh.stat();
      if (size !== body.length) throw new PutioTransferIntegrityError(attempted, t("subtitle.short-write", { size, expected: body.length }));
    } finally {
      await fh.close();
    }
    if (replace) await commitReplacing(fs, tmp, target, replace);
    else await commitNoClobber(fs, tmp, target);
  } catch (err) {
    await removeIfPresent(fs, tmp).catch(() => {});
    throw err;
  }
}

/**
 * put.io's subtitles of `video` written beside `localVideoPath`. A language put.io has nothing for
 * is `missing`; a subtitle that vanished (404) or came empty is `failed` and the others go on.
 * Anything else (no token, put.io down, the folder not writable, abort) is thrown.
 */
export async function writeSubtitles(
  client: PutioClient,
  video: { id: number; name: string; file_type?: string },
  localVideoPath: string,
  opts: SubtitleOptions = {},
): Promise<SubtitleResult> {
  const attempted = t("op.write-subtitles", { name: typeof video?.name === "string" ? video.name : "?" });
  const fs = opts.fs ?? nodeFs;
  const ledger = opts.ledger ?? ownershipLedger(null);
  checkId(video?.id, attempted);
  if (video?.file_type !== undefined && video.file_type !== "VIDEO") throw new PutioInputError(attempted, t("input.not-a-video", { name: String(video.name) }));
  if (typeof localVideoPath !== "string" || !path.isAbsolute(localVideoPath) || localVideoPath.includes("\0"))
    throw new PutioInputError(attempted, t("input.video-path-not-absolute"));
  const full = path.resolve(localVideoPath);
  const dir = path.dirname(full);
  const stem = path.parse(full).name;

  let languages: string[];
  if (opts.languages !== undefined) languages = checkLanguages(opts.languages, attempted);
  else {
    const settings = await client.account.settings(opts.signal);
    const codes = Array.isArray(settings.subtitle_languages) ? settings.subtitle_languages : [];
    // The account's own list: a code we cannot use as a file name is skipped, not an error.
    languages = [
      ...new Set(
        codes.flatMap((c: unknown) => {
          try {
            return [checkLanguageCode(c, attempted)];
          } catch {
            return [];
          }
        }),
      ),
    ];
  }
  const result: SubtitleResult = { written: 0, identical: 0, missing: [], failed: [], outcomes: [] };
  if (!languages.length) return result;

  const listed = await client.media.subtitles(video.id, { languages: [...new Set(languages.flatMap(aliasesOf))], signal: opts.signal });
  for (const language of languages) {
    // put.io lists its best first (the folder's own file, then the MKV's, then OpenSubtitles).
    const sub: PutioSubtitle | undefined = listed.subtitles.find(
      (s) => typeof s.language_code === "string" && sameLanguage(s.language_code.toLowerCase(), language),
    );
    if (!sub) {
      result.missing.push(language);
      result.outcomes.push({ language, status: "missing" });
      continue;
    }
    const target = path.join(dir, `${stem}.${language}.srt`);
    const fail = (error: Error) => {
      result.failed.push({ language, error });
      result.outcomes.push({ language, status: "failed", source: sub.source ?? null, error });
    };
    // The name is built from a checked code and the video's own base name: it cannot leave the folder.
    if (path.dirname(target) !== dir || Buffer.byteLength(path.basename(target)) > 255) {
      fail(new PutioInputError(attempted, t("subtitle.unusable-name", { name: path.basename(target) })));
      continue;
    }
    let body: Buffer;
    try {
      body = await client.media.subtitle(video.id, sub.key, { format: "srt", signal: opts.signal });
    } catch (err) {
      if (err instanceof PutioError && (err.statusCode === 404 || err.statusCode === 410)) {
        fail(err);
        continue;
      }
      throw err;
    }
    if (isBlank(body)) {
      fail(new PutioTransferIntegrityError(attempted, t("subtitle.empty", { language })));
      continue;
    }
    const release = await localClaims.claim([target], { fs, signal: opts.signal });
    try {
      const existing = await lstatOrNull(fs, target);
      if (existing && (existing.isSymbolicLink() || !existing.isFile())) {
        fail(new PutioInputError(attempted, t(existing.isSymbolicLink() ? "subtitle.target-is-link" : "subtitle.target-not-file", { path: target })));
        continue;
      }
      if (existing && (await sameBytes(fs, target, body))) {
        result.identical++;
        result.outcomes.push({ language, status: "identical", path: target, source: sub.source ?? null });
        continue;
      }
      const ours = existing ? await ledger.lookupStat(existing) : null;
      if (existing && !ours) {
        fail(new PutioInputError(attempted, t("subtitle.user-file-kept", { path: target })));
        continue;
      }
      try {
        await writeAtomically(fs, dir, target, body, attempted, existing);
      } catch (err) {
        if (!(err instanceof NameTakenError)) throw err;
        fail(new PutioInputError(attempted, t("subtitle.user-file-kept", { path: target })));
        continue;
      }
      const st = await fs.lstat(target);
      await ledger.record(target, st, { crc32: crcHex(crc32(body)), fileId: video.id });
    } finally {
      await release();
    }
    result.written++;
    result.outcomes.push({ language, status: "written", path: target, source: sub.source ?? null });
  }
  return result;
}

/** The videos among a job's files get subtitles (by name: a job's results carry no put.io file type). */
export const VIDEO_NAME = /\.(mkv|mp4|m4v|avi|mov|wmv|mpg|mpeg|ts|m2ts|webm|flv)$/i;

export interface JobSubtitles {
  written: number;
  /** The files written (what the job's owner of the copy may need to know, e.g. to remove them again). */
  paths: string[];
  identical: number;
  missing: number;
  failed: Array<{ name: string; language: string; error: Error }>;
}

/**
 * Subtitles for every video of a download job (its verified files, still on put.io): the sum of
 * writeSubtitles over them. A missing or failing subtitle is counted, never thrown.
 */
export async function writeJobSubtitles(
  client: PutioClient,
  files: Array<{ fileId: number; name: string; path: string }>,
  opts: SubtitleOptions = {},
): Promise<JobSubtitles> {
  const sum: JobSubtitles = { written: 0, paths: [], identical: 0, missing: 0, failed: [] };
  for (const f of files) {
    if (!VIDEO_NAME.test(f.name)) continue;
    const r = await writeSubtitles(client, { id: f.fileId, name: f.name }, f.path, opts);
    sum.written += r.written;
    for (const o of r.outcomes) if (o.status === "written" && o.path) sum.paths.push(o.path);
    sum.identical += r.identical;
    sum.missing += r.missing.length;
    for (const x of r.failed) sum.failed.push({ name: f.name, language: x.language, error: x.error });
  }
  return sum;
}
