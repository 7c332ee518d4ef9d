/**
 * What a sync run did (or, in a dry run, would do): the report, and the names it gives things
 * (a conflict's error, the trash folder of a run).
 */
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { TRASH_DIR } from "./local";
import type { ConflictReason, PlanAction } from "./planner";

export interface SyncReport {
  copied: Array<{ path: string; size: number }>;
  renamed: Array<{ from: string; to: string }>;
  /** Files already identical (counted, not listed: a library has thousands). */
  skipped: number;
  deleted: Array<{ path: string; trashedTo: string }>;
  /** Deleted on put.io, kept locally (deletions not propagated). */
  kept: Array<{ path: string }>;
  failed: Array<{ path: string; error: Error }>;
  /** The user's versions of synced files, kept beside them (relative paths) before put.io's version took the name. */
  keptCopies: Array<{ path: string; keptAs: string }>;
  /** Why files missing from put.io were neither trashed nor forgotten in this run (null: nothing held back). */
  removalsHeld: Error | null;
  dryRun: boolean;
}

export function emptyReport(dryRun: boolean): SyncReport {
  return { copied: [], renamed: [], skipped: 0, deleted: [], kept: [], failed: [], keptCopies: [], removalsHeld: null, dryRun };
}

/** What the plan would do, as a report (a dry run). */
export function reportOfPlan(actions: PlanAction[], trashStamp: string): SyncReport {
  const r = emptyReport(true);
  for (const a of actions) {
    if (a.kind === "skip" || a.kind === "adopt") r.skipped++;
    else if (a.kind === "download") r.copied.push({ path: a.path, size: a.size });
    else if (a.kind === "rename") r.renamed.push({ from: a.from, to: a.to });
    else if (a.kind === "trash") r.deleted.push({ path: a.path, trashedTo: `${TRASH_DIR}/${trashStamp}/${a.path}` });
    else if (a.kind === "forget") r.kept.push({ path: a.path });
    else if (a.kind === "conflict") r.failed.push({ path: a.path, error: conflictError(a.path, a.reason) });
  }
  return r;
}

export function conflictError(rel: string, reason: ConflictReason): Error {
  const code = { "user-file": "sync.user-file", "not-a-file": "sync.not-a-file", taken: "sync.taken", "parent-not-folder": "sync.parent-not-folder" }[reason];
  return new PutioInputError(t("op.sync-file", { path: rel }), t(code, { path: rel }));
}

/** A folder name per run under the local trash: sortable, no characters Windows refuses. */
export function trashStamp(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, "-");
}
