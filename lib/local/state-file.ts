/**
 * A small JSON state file of the package's own (a node's journal of unfinished work), written
 * whole on each change. Writes run one after another, each atomic (a unique temp name, then a
 * rename): a crash leaves the old or the new state, never a torn one, and the closing and the
 * starting instance of a node writing at the same moment do not collide. A state with nothing in
 * it is no file.
 */
import * as path from "node:path";
import { PutioBaseError } from "../core/errors";
import { t } from "../core/texts";
import { lstatOrNull, nodeFs, removeIfPresent, writeFileAtomic, type LocalFs } from "./fs";

let tmpCounter = 0;

export class StateFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly fs: LocalFs = nodeFs,
  ) {}

  /**
   * The state as last written, parsed; null when there is none. A file that is not a JSON object
   * is set aside (renamed to `<file>.damaged`, nothing deleted) and reported as a clear error, so
   * the caller starts afresh without writing over what could still be read by hand.
   */
  async read(): Promise<Record<string, unknown> | null> {
    const got = await this.load();
    if (got === null || "data" in got) return got && got.data;
    let aside: string;
    try {
      aside = await this.setAside();
    } catch (err) {
      throw this.failure("local.state-file-unreadable", { detail: detailOf(err) }, err);
    }
    throw this.failure("local.state-file-damaged", { detail: got.damaged, aside: path.basename(aside) });
  }

  /**
   * The state as last written, changing nothing on disk (a dry run, a check at start): a damaged
   * file reads as none and stays where it is, for the next `read` to set aside and report.
   */
  async peek(): Promise<Record<string, unknown> | null> {
    const got = await this.load();
    return got && "data" in got ? got.data : null;
  }

  /** null: no file; else its object, or why it is damaged. A file the disk will not read fails. */
  private async load(): Promise<{ data: Record<string, unknown> } | { damaged: string } | null> {
    let text: string;
    try {
      text = await this.fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw this.failure("local.state-file-unreadable", { detail: detailOf(err) }, err);
    }
    try {
      const data: unknown = JSON.parse(text);
      if (data && typeof data === "object" && !Array.isArray(data)) return { data: data as Record<string, unknown> };
      return { damaged: Array.isArray(data) ? "array" : data === null ? "null" : typeof data };
    } catch (err) {
      return { damaged: (err as Error).message };
    }
  }

  /** Write `text` (null: remove the file) once the writes before it landed; resolves when it did. */
  write(text: string | null): Promise<void> {
    const run = () => (text === null ? removeIfPresent(this.fs, this.file) : this.replace(text));
    const p = this.writing.then(run, run);
    this.writing = p.catch(() => {});
    return p;
  }

  /** Resolves once every write asked for so far has ended (well or not). */
  settled(): Promise<void> {
    return this.writing;
  }

  private failure(code: string, params: Record<string, string>, cause?: unknown): PutioBaseError {
    const attempted = t("op.read-state-file", { path: this.file });
    return new PutioBaseError(attempted, t(code, { ...params, attempted }), { cause });
  }

  /** Rename the file to the first free `<file>.damaged[-n]` (an earlier damaged copy is kept too). */
  private async setAside(): Promise<string> {
    for (let n = 1; ; n++) {
      const aside = `${this.file}.damaged${n > 1 ? `-${n}` : ""}`;
      if (await lstatOrNull(this.fs, aside)) continue;
      await this.fs.rename(this.file, aside);
      return aside;
    }
  }

  private async replace(text: string): Promise<void> {
    await this.fs.mkdir(path.dirname(this.file), { recursive: true });
    // Unique per write: another instance of the node may be writing the same file.
    const tmp = `${this.file}.${process.pid}.${++tmpCounter}.tmp`;
    try {
      await writeFileAtomic(this.fs, this.file, tmp, text);
    } catch (err) {
      await removeIfPresent(this.fs, tmp).catch(() => {});
      throw err;
    }
  }
}

function detailOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return String(e?.code ?? e?.message ?? err);
}
