/**
 * Extract on put.io, then know what came out: every archive (set) in a file's folder or under a
 * folder is extracted once, from its first volume; the job waits by polling put.io's extraction
 * list (put.io pushes nothing for extractions: lib/core/quirks.ts), and finds the extracted files as
 * what appeared in the archives' folders meanwhile (an extraction's `files` field is not reliable
 * enough to name them: lib/core/quirks.ts).
 */
import { collect } from "../core/paginate";
import { PutioInputError } from "../core/errors";
import { EXTRACTION_STATUS } from "../core/quirks";
import { t } from "../core/texts";
import { checkId, checkName } from "../core/wire";
import type { PutioExtraction } from "../domains/extract";
import { extractionFileIds } from "../domains/extract";
import type { PutioFile } from "../domains/files";
import { walk } from "../domains/walk";
import type { PutioClient } from "../client";
import { missingVolumeNames, recognizeArchiveSets, type ArchiveSet } from "./archive-sets";
import { PutioExtractionError } from "./errors";
import { duration, pollUntil } from "./poll";

export interface ExtractStatus {
  /** The archive's name (for a set: its first volume). */
  archive: string;
  extractionId: number;
  status: string;
  message: string | null;
}

export interface ExtractOptions {
  /** The archives' password (all of them); never logged or put in an error. */
  password?: string;
  signal?: AbortSignal;
  /** Called when an extraction's status or message changes. */
  onStatus?: (s: ExtractStatus) => void;
  /** First delay between checks (default 2 s), growing to maxPollMs (default 30 s). */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up waiting after this long (default 6 h): a PutioExtractionError of kind "timeout". */
  timeoutMs?: number;
  /** Folder names not to look into when a folder is given (see domains/walk.ts). */
  skipFolders?: string[] | string;
}

export interface ExtractedFile {
  file: PutioFile;
  /** Relative to the folder given (for a file: to its folder), "/"-separated. */
  path: string;
}

export interface ExtractedSet {
  name: string;
  extractionId: number;
  parts: ExtractedFile[];
}

export interface ExtractResult {
  /** The archives extracted. */
  sets: ExtractedSet[];
  /** Files that appeared in the archives' folders while they were extracted (subfolders walked). */
  extracted: ExtractedFile[];
  /** Every volume of every archive extracted: what a download skips unless it keeps archives. */
  parts: ExtractedFile[];
  /** What appeared directly in the archives' folders (files and new folders): a download's sources. */
  top: PutioFile[];
}

const DEFAULT_TIMEOUT_MS = 6 * 3600_000;

/**
 * Extracts every archive of a file or folder on put.io and waits until put.io is done. A folder
 * without archives gives an empty result; a file that is no archive is a PutioInputError. Wrong or
 * missing passwords, failures, missing volumes and timeouts are PutioExtractionErrors (`kind`).
 */
export async function extractAndWait(client: PutioClient, fileOrFolderId: number, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const attempted = t("op.extract-archives-of", { id: fileOrFolderId });
  const id = checkId(fileOrFolderId, attempted);
  const signal = opts.signal;
  const root = await client.files.get(id, signal);

  // Every candidate file with its path relative to the base folder, and each folder's path.
  const candidates: ExtractedFile[] = [];
  const folderPath = new Map<number, string>();
  let only: number | null = null;
  if (root.file_type === "FOLDER") {
    folderPath.set(root.id, "");
    for await (const w of walk(client.files, root.id, { signal, skipFolders: opts.skipFolders, includeFolders: true })) {
      if (w.file.file_type === "FOLDER") folderPath.set(w.file.id, w.path + "/");
      else candidates.push({ file: w.file, path: w.path });
    }
  } else {
    // A volume of a set needs its siblings: the set is read from the file's folder.
    if (root.parent_id === null) throw new PutioInputError(attempted, t("input.no-folder"));
    folderPath.set(root.parent_id, "");
    for (const f of await collect(client.files.list(root.parent_id, { signal }))) {
      if (f.file_type !== "FOLDER") candidates.push({ file: f, path: checkName(f.name, attempted) });
    }
    only = root.id;
  }
  const byId = new Map(candidates.map((c) => [c.file.id, c]));
  let sets = recognizeArchiveSets(candidates.map((c) => c.file));
  if (only !== null) {
    sets = sets.filter((s) => s.parts.some((p) => p.id === only));
    if (!sets.length) throw new PutioInputError(attempted, t("input.not-an-archive", { name: root.name }));
  }
  if (!sets.length) return { sets: [], extracted: [], parts: [], top: [] };
  for (const set of sets) {
    if (set.missing.length) {
      throw new PutioExtractionError(t("extract.incomplete", { name: set.first.name, missing: missingVolumeNames(set).join(", ") }), {
        kind: "incomplete",
        archive: set.first.name,
      });
    }
  }

  // What the archives' folders hold before: whatever is new afterwards came out of the archives.
  const folders = [...new Set(sets.map((s) => s.first.parent_id as number))];
  const before = new Map<number, Set<number>>();
  for (const folder of folders) before.set(folder, new Set((await collect(client.files.list(folder, { signal }))).map((f) => f.id)));

  const started: Array<{ set: ArchiveSet<PutioFile>; extraction: PutioExtraction }> = [];
  for (const set of sets) {
    const answer = await client.extract.start([set.first.id], { password: opts.password, signal });
    const extraction = answer.find((e) => extractionFileIds(e).includes(set.first.id)) ?? answer[0];
    if (!extraction) throw new PutioExtractionError(t("extract.not-started", { name: set.first.name }), { kind: "vanished", archive: set.first.name });
    started.push({ set, extraction });
  }

  const seen = new Map<number, string>();
  const report = (name: string, e: PutioExtraction) => {
    const mark = `${e.status}\u0000${e.message ?? ""}`;
    if (seen.get(e.id) === mark) return;
    seen.set(e.id, mark);
    opts.onStatus?.({ archive: name, extractionId: e.id, status: e.status, message: e.message ?? null });
  };
  for (const { set, extraction } of started) report(set.first.name, extraction);
  const pending = new Set(started);
  const checkAll = async (): Promise<true | undefined> => {
    const list = await client.extract.list(signal);
    for (const s of [...pending]) {
      const now = list.find((e) => e.id === s.extraction.id);
      const name = s.set.first.name;
      if (!now) throw new PutioExtractionError(t("extract.vanished", { name }), { kind: "vanished", archive: name, extractionId: s.extraction.id });
      s.extraction = now;
      report(name, now);
      failIfBad(name, now, opts.password);
      if (now.status === EXTRACTION_STATUS.done) pending.delete(s);
    }
    return pending.size ? undefined : true;
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await pollUntil(
    attempted,
    checkAll,
    () => {
      const name = [...pending][0]?.set.first.name ?? String(id);
      return new PutioExtractionError(t("extract.timeout", { name, duration: duration(timeoutMs) }), { kind: "timeout", archive: name });
    },
    { signal, pollMs: opts.pollMs, maxPollMs: opts.maxPollMs, timeoutMs },
  );

  // What appeared meanwhile, with paths relative to the base folder (new subfolders walked).
  const extracted: ExtractedFile[] = [];
  const top: PutioFile[] = [];
  for (const folder of folders) {
    const prefix = folderPath.get(folder) ?? "";
    const had = before.get(folder)!;
    for (const f of await collect(client.files.list(folder, { signal }))) {
      if (had.has(f.id)) continue;
      top.push(f);
      const path = prefix + checkName(f.name, attempted);
      if (f.file_type !== "FOLDER") extracted.push({ file: f, path });
      else for await (const w of walk(client.files, f.id, { signal })) extracted.push({ file: w.file, path: `${path}/${w.path}` });
    }
  }
  const partOf = (f: PutioFile): ExtractedFile => byId.get(f.id) ?? { file: f, path: f.name };
  return {
    sets: started.map(({ set, extraction }) => ({ name: set.first.name, extractionId: extraction.id, parts: set.parts.map(partOf) })),
    extracted,
    parts: started.flatMap(({ set }) => set.parts.map(partOf)),
    top,
  };
}

function failIfBad(name: string, e: PutioExtraction, password: string | undefined): void {
  const details = { archive: name, extractionId: e.id, status: e.status, putioMessage: e.message ?? null };
  if (e.status === EXTRACTION_STATUS.needsPassword) {
    if (password) throw new PutioExtractionError(t("extract.wrong-password", { name }), { ...details, kind: "wrong-password" });
    throw new PutioExtractionError(t("extract.password-required", { name }), { ...details, kind: "password-required" });
  }
  if (e.status === EXTRACTION_STATUS.failed) {
    // put.io's own message is a value, shown as it is in every language.
    throw new PutioExtractionError(t("extract.failed", { name, reason: e.message || t("extract.no-reason") }), { ...details, kind: "failed" });
  }
}
