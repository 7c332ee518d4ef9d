/**
 * A download job's plan: its source resolved on put.io, archives extracted first when asked, the
 * files to fetch listed (domains/walk) and filtered, MP4 versions taken when asked, and every
 * file's local folders and name decided before anything is written (planLocalNames). Everything
 * a job needs from put.io before the first byte; the scheduler runs the plan.
 */
import type { PutioClient } from "../client";
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { checkId } from "../core/wire";
import type { PutioFile } from "../domains/files";
import { compileFilter } from "../domains/filters";
import { splitPath } from "../domains/paths";
import { walk } from "../domains/walk";
import { planLocalNames, type RemoteEntry } from "../local/names";
import { archiveVolumeOf } from "../media-jobs/archive-sets";
import { PutioExtractionError } from "../media-jobs/errors";
import { extractAndWait } from "../media-jobs/extraction";
import { mp4VersionOf } from "../media-jobs/mp4";
import type { DownloadJob, ExtractFirst, ExtractionDone, JobResult } from "./job";
import type { RemoteFile } from "./types";

export interface PlannedFile {
  file: RemoteFile;
  putioPath: string;
  /** Folders on put.io from the job's source down to the file's parent. */
  folders: RemoteEntry[];
  /** Local folder names under the target and the local file name (planLocalNames). */
  dirs: string[];
  localName: string;
}

export interface JobPlan {
  source: JobResult["source"];
  planned: PlannedFile[];
  extraction?: JobResult["extraction"];
}

/** Resolve the source and list the files to fetch, with their local folders. */
export async function planJob(client: PutioClient, job: DownloadJob, now: number, signal: AbortSignal): Promise<JobPlan> {
  const files = client.files;
  const keep = compileFilter(job.filter, now);
  const src = job.source;
  let root: PutioFile | RemoteFile;
  if ("file" in src) {
    root = src.file;
  } else if ("path" in src) {
    root = await byPath(client, src.path, signal);
  } else {
    const id = checkId("fileId" in src ? src.fileId : src.folderId, t("op.download-job"), t("what.file-or-folder-id"));
    root = id === 0 ? { id: 0, name: "", size: 0, file_type: "FOLDER" } : await files.get(id, signal);
  }
  const extracted = job.extract && !job.dryRun ? await extractFirst(client, job.extract, root, signal) : null;
  const skip = new Set(extracted && !job.extract?.keepArchives ? extracted.partIds : []);
  let planned: PlannedFile[] = [];
  /** Every file under `folderId`; `above` are the folders from the job's source down to it. */
  const walkInto = async (folderId: number, above: RemoteEntry[]) => {
    // Names are cleaned for the local disk by planLocalNames, so put.io's names are taken as they are.
    for await (const w of walk(files, folderId, { checkNames: false, skipIds: skip, maxDepth: Number.MAX_SAFE_INTEGER, signal })) {
      const folders = [...above, ...w.folders];
      if (keep(w.file)) planned.push({ file: w.file, putioPath: [...folders.map((d) => d.name), w.file.name].join("/"), folders, dirs: [], localName: "" });
    }
  };
  let source: JobResult["source"];
  if (root.file_type !== "FOLDER" && extracted) {
    // An archive given as a file: what came out of it (and its volumes, when kept) beside it.
    const wanted = new Set([...extracted.topIds, ...(job.extract?.keepArchives ? extracted.partIds : [])]);
    const parentId = root.parent_id === undefined ? (await files.get(root.id, signal)).parent_id : root.parent_id;
    if (parentId === null) throw new PutioInputError(t("op.download-job"), t("input.no-folder"));
    for await (const f of files.list(parentId, { signal })) {
      if (!wanted.has(f.id)) continue;
      if (f.file_type === "FOLDER") await walkInto(f.id, [{ id: f.id, name: f.name }]);
      else if (keep(f)) planned.push({ file: f, putioPath: f.name, folders: [], dirs: [], localName: "" });
    }
    source = { id: root.id, name: root.name, isFolder: false };
  } else if (root.file_type !== "FOLDER") {
    // A file object from a message may be stale: take put.io's current size and crc32.
    const fresh = "file" in src && !src.current ? await files.get(root.id, signal) : root;
    if (keep(fresh)) planned.push({ file: fresh, putioPath: fresh.name, folders: [], dirs: [], localName: "" });
    source = { id: fresh.id, name: fresh.name, isFolder: false };
  } else {
    // The folder itself becomes a folder under the target (root = the target itself).
    await walkInto(root.id, root.id === 0 ? [] : [{ id: root.id, name: root.name }]);
    source = { id: root.id, name: root.name, isFolder: true };
  }
  if (job.choose) {
    // The source folder's own name is no folder "within" it (a release named "Sample.Movie" is no sample).
    const depth = root.file_type === "FOLDER" && root.id !== 0 ? 1 : 0;
    const keepIt = job.choose(planned.map((p) => ({ file: p.file, putioPath: p.putioPath, within: p.folders.slice(depth).map((d) => d.name) })));
    planned = planned.filter((_, i) => keepIt[i] !== false);
  }
  if (extracted && !planned.some((p) => !skip.has(p.file.id) && !extracted.partIds.includes(p.file.id))) {
    // Only archive volumes (or nothing) left: a job that wrote nothing new must not look done.
    const name = extracted.archives.join(", ");
    throw new PutioExtractionError(t("extract.nothing-out", { name }), { kind: "empty", archive: name });
  }
  if (job.preferMp4) await takeMp4Versions(client, planned, signal);
  return {
    source,
    planned: withLocalNames(planned),
    ...(extracted ? { extraction: { archives: extracted.archives, partsSkipped: skip.size } } : {}),
  };
}

/**
 * put.io's extraction of the archives in the job's folder, or of the archive given as a file;
 * null when there is nothing to extract (no archive, or a file that is none).
 */
async function extractFirst(client: PutioClient, opts: ExtractFirst, root: PutioFile | RemoteFile, signal: AbortSignal): Promise<ExtractionDone | null> {
  if (opts.done) return opts.done;
  const isFolder = root.file_type === "FOLDER";
  if (!isFolder && !archiveVolumeOf(root.name)) return null;
  const r = await extractAndWait(client, root.id, { password: opts.password, signal, onStatus: opts.onStatus, pollMs: opts.pollMs });
  if (!r.sets.length) return null;
  const done: ExtractionDone = { archives: r.sets.map((s) => s.name), partIds: r.parts.map((p) => p.file.id), topIds: r.top.map((f) => f.id) };
  opts.onExtracted?.(done);
  return done;
}

/** Videos with a ready MP4 version on put.io are fetched as that version (name `<video>.mp4`). */
async function takeMp4Versions(client: PutioClient, planned: PlannedFile[], signal: AbortSignal): Promise<void> {
  for (const p of planned) {
    const f = p.file as RemoteFile & { is_mp4_available?: unknown };
    // put.io's listing says when there is none: no request for those.
    if (f.file_type !== "VIDEO" || f.is_mp4_available === false || /\.mp4$/i.test(f.name)) continue;
    const version = await mp4VersionOf(client, f, signal);
    if (!version || !(version.size > 0)) continue;
    p.file = { id: f.id, name: version.name, size: version.size, crc32: null, file_type: "VIDEO", parent_id: f.parent_id, variant: "mp4" };
  }
}

async function byPath(client: PutioClient, p: string, signal: AbortSignal): Promise<PutioFile | RemoteFile> {
  const attempted = t("op.find-path", { path: p });
  const parts = splitPath(p, attempted);
  if (!parts.length) return { id: 0, name: "", size: 0, file_type: "FOLDER" };
  const parentId = await client.paths.resolve("/" + parts.slice(0, -1).join("/"), { signal });
  const found = parentId === null ? null : await client.files.child(parentId, parts[parts.length - 1]!, signal);
  if (!found) throw new PutioInputError(attempted, t("input.does-not-exist", { path: p }));
  return found;
}

/** Every local path of the job decided before any write, one-to-one (see planLocalNames). */
function withLocalNames(planned: PlannedFile[]): PlannedFile[] {
  const names = planLocalNames(planned.map((p) => ({ folders: p.folders, file: { id: p.file.id, name: p.file.name } })));
  return planned.map((p, i) => ({ ...p, dirs: names[i]!.dirs, localName: names[i]!.name }));
}
