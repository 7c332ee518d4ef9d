/**
 * A copy job before its first transfer: the source's tree listed, its folders made on the target,
 * and each file sorted: already there with the same bytes (skipped, and what an earlier run left
 * of it undone), failed (a name put.io refuses, two of one name, a folder that failed), or to copy.
 */
import { PutioBaseError, PutioError, PutioInputError } from "../core/errors";
import { NAME_TAKEN } from "../core/quirks";
import { t, type Text } from "../core/texts";
import type { PutioFile } from "../domains/files";
import { alreadyThere, isFatal, isFolder, nameProblem } from "./checks";
import { copyKey, listAll, type CopyJob, type SourceFile, type Todo } from "./job";
import type { CopyRecord } from "./journal";
import { undoRecord } from "./undo";

/** The files to copy, in the order of the source's listing; the summary holds the rest. */
export async function planCopy(job: CopyJob, source: PutioFile, target: PutioFile): Promise<Todo[]> {
  const { folders, files } = await listSource(job, source);
  await job.loadRecords();
  job.progress.total = files.length;
  job.report();
  const tree = new TargetTree(job, target.id);
  const failedDirs = await makeFolders(job, tree, folders);
  const { todo, leftovers } = await sortFiles(job, tree, failedDirs, files);
  job.report();
  await undoLeftovers(job, leftovers);
  return todo;
}

/** What to copy: the item itself (a file, or a folder with its tree), or the root's content. */
async function listSource(job: CopyJob, source: PutioFile): Promise<{ folders: string[]; files: SourceFile[] }> {
  const folders: string[] = [];
  const files: SourceFile[] = [];
  if (!isFolder(source)) files.push({ file: source, path: source.name, dir: "" });
  else {
    // Breadth-first, one listing per folder. Not domains/walk.ts: it refuses names unsafe as local
    // path segments, and here a name B refuses must fail its own entry, not the whole job.
    const queue: Array<{ id: number; path: string }> = [{ id: source.id, path: source.id === 0 ? "" : source.name }];
    if (source.id !== 0) folders.push(source.name);
    while (queue.length) {
      job.aborted();
      const { id, path } = queue.shift()!;
      for (const child of await listAll(job.from, id, job.signal)) {
        const childPath = path ? `${path}/${child.name}` : child.name;
        if (isFolder(child)) {
          folders.push(childPath);
          queue.push({ id: child.id, path: childPath });
        } else files.push({ file: child, path: childPath, dir: path });
      }
    }
  }
  return { folders, files };
}

/** The tree on the target: each folder path → its id there, and its children as listed once. */
class TargetTree {
  readonly ids: Map<string, number>;
  private readonly listings = new Map<number, Promise<PutioFile[]>>();

  constructor(
    private readonly job: CopyJob,
    rootId: number,
  ) {
    this.ids = new Map([["", rootId]]);
  }

  children(id: number): Promise<PutioFile[]> {
    let p = this.listings.get(id);
    if (!p) {
      p = listAll(this.job.to, id, this.job.signal);
      this.listings.set(id, p);
      p.catch(() => this.listings.delete(id));
    }
    return p;
  }

  /** A folder this job made in `parentId`. */
  async added(parentId: number, folder: PutioFile): Promise<void> {
    (await this.children(parentId)).push(folder);
    // A new folder is empty: no listing needed.
    this.listings.set(folder.id, Promise.resolve([]));
  }
}

const parentOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** The source's folders made on the target (breadth-first: a parent is always ensured before its children); returns those that failed. */
async function makeFolders(job: CopyJob, tree: TargetTree, folders: string[]): Promise<Set<string>> {
  const failedDirs = new Set<string>();
  for (const path of folders) {
    job.aborted();
    const parent = parentOf(path);
    if (failedDirs.has(parent)) {
      failedDirs.add(path);
      continue;
    }
    const name = nameOf(path);
    const attempted = t("op.copy-folder", { path });
    try {
      const refused = nameProblem(name, attempted);
      if (refused) throw refused;
      const parentId = tree.ids.get(parent)!;
      const existing = (await tree.children(parentId)).find((c) => c.name === name);
      if (existing && !isFolder(existing)) throw new PutioInputError(attempted, t("copy.file-in-the-way", { name }));
      if (existing) tree.ids.set(path, existing.id);
      else {
        const made = await makeFolder(job, parentId, name, attempted);
        tree.ids.set(path, made.folder.id);
        if (made.created) {
          await tree.added(parentId, made.folder);
          job.summary.folders++;
        }
      }
    } catch (err) {
      failedDirs.add(path);
      job.fail(path, err);
    }
  }
  return failedDirs;
}

/** mkdir: a folder of that name made meanwhile (another copy into the same target) is the one to use. */
async function makeFolder(job: CopyJob, parentId: number, name: string, attempted: Text): Promise<{ folder: PutioFile; created: boolean }> {
  try {
    return { folder: await job.to.files.createFolder(parentId, name, job.signal), created: true };
  } catch (err) {
    if (!(err instanceof PutioError) || err.errorType !== NAME_TAKEN) throw err;
    const there = await job.to.files.child(parentId, name, job.signal);
    if (!there) throw err;
    if (!isFolder(there)) throw new PutioInputError(attempted, t("copy.file-in-the-way", { name }));
    return { folder: there, created: false };
  }
}

/** What an earlier run left of a copy that is there now: undone, except the file `keep`. */
type Leftover = { record: CopyRecord; keep: number };

/** Files: skip what is already there, refuse what would overwrite, queue the rest. */
async function sortFiles(job: CopyJob, tree: TargetTree, failedDirs: Set<string>, files: SourceFile[]): Promise<{ todo: Todo[]; leftovers: Leftover[] }> {
  const todo: Todo[] = [];
  const leftovers: Leftover[] = [];
  // put.io can hold two files of one name in a folder: only the first one gets that name on the target.
  const planned = new Set<string>();
  for (const f of files) {
    job.aborted();
    const attempted = t("op.copy-file", { path: f.path });
    if (failedDirs.has(f.dir)) {
      job.fail(f.path, new PutioBaseError(attempted, t("copy.folder-failed", { attempted, folder: f.dir })));
      continue;
    }
    try {
      const refused = nameProblem(f.file.name, attempted);
      if (refused) throw refused;
      const parentId = tree.ids.get(f.dir)!;
      if (planned.has(`${parentId}/${f.file.name}`)) throw new PutioInputError(attempted, t("copy.same-name-twice", { name: f.file.name }));
      planned.add(`${parentId}/${f.file.name}`);
      const existing = (await tree.children(parentId)).find((c) => c.name === f.file.name);
      const record = job.recordOf(f.file.id, parentId);
      if (existing) {
        job.summary.skipped.push(alreadyThere(f, existing, attempted));
        // There already: what an earlier run left of this copy (a transfer, a second copy) goes.
        if (record) leftovers.push({ record, keep: existing.id });
      } else todo.push({ ...f, parentId });
    } catch (err) {
      job.fail(f.path, err);
    }
  }
  return { todo, leftovers };
}

async function undoLeftovers(job: CopyJob, leftovers: Leftover[]): Promise<void> {
  for (const { record, keep } of leftovers) {
    job.aborted();
    // Another live job works on that copy: its leftovers are its own.
    if (job.copying.has(copyKey(record.source, record.parent))) continue;
    try {
      await undoRecord(job.to, record, { keep, signal: job.signal });
      await job.forget(record.source, record.parent);
    } catch (err) {
      if (isFatal(err) || job.signal.aborted) throw err;
      /* left in the journal: the next run tries again */
    }
  }
}
