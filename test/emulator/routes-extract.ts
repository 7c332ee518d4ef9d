// /v2/files/extract: put.io's archive extraction. One record per archive (a multi-volume RAR set is
// one extraction of its first volume), moved on the emulator clock:
//   NEW → (1 s) SENT_TO_QUEUE → (1 s) EXTRACTING → one entry written per second → EXTRACTED
// or PASSWORD (encrypted and no or a wrong password) or ERROR (not an archive, a missing volume,
// a corrupt entry midway: the entries before it stay written). A PASSWORD extraction asked again with
// a password goes PASSWORD_OBTAINED and starts over under the same id. Extracted files land in the
// archive's folder (paths inside the archive become folders); a taken name gets " (n)" before the
// extension. put.io has no socket push for extractions (only file_create for each new file).
import { Content } from "./content";
import { ApiError, badRequest, notFound } from "./http-util";
import { Ctx, Route, route } from "./router";
import { selectedIds } from "./routes-files";
import type { EmulatorState, FileNode, User } from "./state";
import { isRar, rarVolumeOf, readRarManifest, readZip, unpackZipEntry, type RarManifest } from "./archives";

/** Emulator-clock durations of the waiting statuses; EXTRACTING takes one second per entry. */
export const EXTRACT_QUEUE_MS = 1000;
export const EXTRACT_START_MS = 1000;
export const EXTRACT_ENTRY_MS = 1000;

/** Messages put.io shows are not published; these are the emulator's (README). */
export const EXTRACT_MESSAGES = {
  queued: "Added to queue",
  extracting: "Extracting",
  passwordRequired: "Archive is password protected",
  wrongPassword: "Wrong password",
  notArchive: "Unsupported archive type",
  corrupt: "Archive is corrupt",
  notFirstVolume: "You need to start extraction from a previous volume",
  failed: "Extraction failed",
} as const;

type Status = "NEW" | "SENT_TO_QUEUE" | "EXTRACTING" | "EXTRACTED" | "ERROR" | "PASSWORD" | "PASSWORD_OBTAINED";

interface PlannedEntry {
  path: string[];
  /** The entry's bytes, or null when they fail their CRC (a corrupt archive). */
  content: (password: string | undefined) => Content | null;
}

interface ExtractionRecord {
  id: number;
  ownerId: number;
  name: string;
  archiveId: number;
  partIds: number[];
  folderId: number;
  password: string | undefined;
  status: Status;
  message: string | null;
  phaseStartedAt: number;
  /** Filled when EXTRACTING starts. */
  plan: PlannedEntry[] | null;
  written: number;
  /** Fail after this many entries (knob or a corrupt entry). */
  failAt: number | null;
  failMessage: string;
  createdIds: number[];
}

interface ExtractStore {
  records: Map<number, ExtractionRecord>;
  nextId: number;
}

const stores = new WeakMap<EmulatorState, ExtractStore>();

function storeOf(state: EmulatorState): ExtractStore {
  let s = stores.get(state);
  if (!s) {
    stores.set(state, (s = { records: new Map(), nextId: 24_336_726_735 }));
    const store = s;
    state.on("tick", () => tickExtractions(state, store));
  }
  return s;
}

/** Every extraction record of the emulator (for specs). */
export function extractionsOf(state: EmulatorState): ExtractionRecord[] {
  return [...storeOf(state).records.values()];
}

const TERMINAL = new Set<Status>(["EXTRACTED", "ERROR", "PASSWORD"]);

function json(rec: ExtractionRecord) {
  // Field set of the SDK's FileExtraction; files = the archive's volumes (its meaning is unconfirmed: lib/core/quirks.ts).
  return { id: rec.id, name: rec.name, status: rec.status, message: rec.message, num_parts: rec.partIds.length, files: rec.partIds };
}

function siblingsOf(state: EmulatorState, user: User, node: FileNode): FileNode[] {
  const parent = node.parentId === null ? undefined : state.liveNode(user, node.parentId);
  return parent ? state.childrenOf(user, parent) : [node];
}

/** The volumes of the RAR set `node` opens, in order (1..n), as far as they are present. */
function rarVolumes(state: EmulatorState, user: User, node: FileNode): FileNode[] {
  const own = rarVolumeOf(node.name);
  if (!own) return [node];
  const same = siblingsOf(state, user, node)
    .map((n) => ({ n, v: rarVolumeOf(n.name) }))
    .filter((x) => x.v && x.v.base.toLowerCase() === own.base.toLowerCase() && (x.v.style === own.style || x.v.volume === 1))
    .sort((a, b) => a.v!.volume - b.v!.volume);
  return same.map((x) => x.n);
}

function splitPath(name: string): string[] | null {
  const parts = name.split("/").filter((p) => p !== "");
  // An entry climbing out of the folder, or a name put.io cannot hold, fails the archive.
  if (!parts.length || parts.some((p) => p === "." || p === ".." || Buffer.byteLength(p) > 255)) return null;
  return parts;
}

type Plan = { entries: PlannedEntry[]; encrypted: boolean; checkPassword: (pw: string) => boolean; failAt: number | null } | { error: string };

function planZip(node: FileNode): Plan {
  const buf = node.content!.read();
  const zip = readZip(buf);
  if ("error" in zip) return { error: EXTRACT_MESSAGES.corrupt };
  const entries: PlannedEntry[] = [];
  for (const [i, name] of zip.names.entries()) {
    const path = splitPath(name);
    if (!path) return { error: EXTRACT_MESSAGES.corrupt };
    entries.push({
      path,
      content: (password) => {
        const plain = unpackZipEntry(buf, i, password);
        return plain ? Content.from(plain, 0) : null;
      },
    });
  }
  return { entries, encrypted: zip.encrypted, checkPassword: zip.checkPassword, failAt: null };
}

function planRar(rec: ExtractionRecord, volumes: FileNode[]): Plan {
  const manifests = volumes.map((v) => readRarManifest(v.content!.read()));
  const first = manifests[0];
  if (!first || first.volume !== 1) return { error: first ? EXTRACT_MESSAGES.notFirstVolume : EXTRACT_MESSAGES.corrupt };
  for (let v = 1; v <= first.volumes; v++) {
    if (!manifests.some((m) => m && m.set === first.set && m.volume === v)) return { error: `Missing volume ${v} of ${first.volumes}` };
  }
  const entries: PlannedEntry[] = [];
  for (const e of first.entries ?? []) {
    const path = splitPath(e.name);
    if (!path) return { error: EXTRACT_MESSAGES.corrupt };
    entries.push({
      path,
      content: () => (e.text !== undefined ? Content.from(Buffer.from(e.text, "utf8"), 0) : Content.from({ size: e.size ?? 0, seed: e.seed ?? rec.id }, 0)),
    });
  }
  const m: RarManifest = first;
  return { entries, encrypted: m.password !== undefined, checkPassword: (pw) => pw === m.password, failAt: m.corruptAfter ?? null };
}

/** A free name in `folder`: the name, else "name (1).ext", "name (2).ext"… */
function freeName(state: EmulatorState, user: User, folder: FileNode, name: string, isFolder: boolean): string {
  const taken = new Set(state.childrenOf(user, folder).map((c) => c.name));
  if (!taken.has(name)) return name;
  const dot = isFolder ? -1 : name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 1; ; n++) if (!taken.has(`${stem} (${n})${ext}`)) return `${stem} (${n})${ext}`;
}

function setStatus(rec: ExtractionRecord, status: Status, message: string | null, now: number): void {
  rec.status = status;
  rec.message = message;
  rec.phaseStartedAt = now;
}

/** Called when EXTRACTING begins: read the archive, check the password, plan the entries. */
function begin(state: EmulatorState, rec: ExtractionRecord, now: number): void {
  const user = state.users.get(rec.ownerId)!;
  const archive = state.liveNode(user, rec.archiveId);
  if (!archive || !archive.content) return setStatus(rec, "ERROR", "File not found", now);
  let plan: Plan;
  const head = archive.content.read(0, 8);
  if (isRar(head)) {
    const own = readRarManifest(archive.content.read());
    const volumes = rarVolumes(state, user, archive);
    rec.partIds = volumes.map((v) => v.id);
    // Like unrar: a set is opened at its first volume only.
    plan = own && own.volume !== 1 ? { error: EXTRACT_MESSAGES.notFirstVolume } : planRar(rec, volumes);
  } else if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) {
    plan = planZip(archive);
  } else if (/\.(zip|rar|r\d\d+)$/i.test(archive.name)) {
    plan = { error: EXTRACT_MESSAGES.corrupt };
  } else {
    plan = { error: EXTRACT_MESSAGES.notArchive };
  }
  if ("error" in plan) return setStatus(rec, "ERROR", plan.error, now);
  if (plan.encrypted) {
    if (rec.password === undefined || rec.password === "") return setStatus(rec, "PASSWORD", EXTRACT_MESSAGES.passwordRequired, now);
    if (!plan.checkPassword(rec.password)) return setStatus(rec, "PASSWORD", EXTRACT_MESSAGES.wrongPassword, now);
  }
  rec.plan = plan.entries;
  rec.written = 0;
  rec.failAt = plan.failAt;
  rec.failMessage = EXTRACT_MESSAGES.corrupt;
  if (state.knobs.extractFailNext > 0) {
    state.knobs.extractFailNext--;
    rec.failAt = Math.floor(plan.entries.length / 2);
    rec.failMessage = EXTRACT_MESSAGES.failed;
  }
  setStatus(rec, "EXTRACTING", EXTRACT_MESSAGES.extracting, now);
}

/** Writes the next planned entry; false when it cannot (corrupt): the extraction then fails. */
function writeEntry(state: EmulatorState, rec: ExtractionRecord, entry: PlannedEntry): boolean {
  const user = state.users.get(rec.ownerId)!;
  const target = state.liveNode(user, rec.folderId);
  if (!target || !target.isFolder) return false;
  let folder: FileNode = target;
  const content = entry.content(rec.password);
  if (!content) return false;
  for (const dir of entry.path.slice(0, -1)) {
    const existing: FileNode | undefined = state.childrenOf(user, folder).find((c) => c.name === dir && c.isFolder);
    folder = existing ?? state.createNode(user, folder, freeName(state, user, folder, dir, true), null);
    if (!existing) rec.createdIds.push(folder.id);
  }
  const name = freeName(state, user, folder, entry.path[entry.path.length - 1], false);
  rec.createdIds.push(state.createNode(user, folder, name, content).id);
  return true;
}

function tickExtractions(state: EmulatorState, store: ExtractStore): void {
  const now = state.now();
  for (const rec of store.records.values()) {
    for (let guard = 0; guard < 1000 && !TERMINAL.has(rec.status); guard++) {
      const elapsed = now - rec.phaseStartedAt;
      if (rec.status === "NEW" || rec.status === "PASSWORD_OBTAINED") {
        if (elapsed < EXTRACT_QUEUE_MS) break;
        setStatus(rec, "SENT_TO_QUEUE", EXTRACT_MESSAGES.queued, rec.phaseStartedAt + EXTRACT_QUEUE_MS);
      } else if (rec.status === "SENT_TO_QUEUE") {
        if (elapsed < EXTRACT_START_MS) break;
        begin(state, rec, rec.phaseStartedAt + EXTRACT_START_MS);
      } else {
        // EXTRACTING: one entry per EXTRACT_ENTRY_MS.
        const plan = rec.plan!;
        if (rec.written >= plan.length) {
          setStatus(rec, "EXTRACTED", null, now);
          break;
        }
        if (elapsed < EXTRACT_ENTRY_MS) break;
        rec.phaseStartedAt += EXTRACT_ENTRY_MS;
        if (rec.failAt !== null && rec.written >= rec.failAt) {
          setStatus(rec, "ERROR", rec.failMessage, rec.phaseStartedAt);
          break;
        }
        if (!writeEntry(state, rec, plan[rec.written])) {
          setStatus(rec, "ERROR", EXTRACT_MESSAGES.corrupt, rec.phaseStartedAt);
          break;
        }
        rec.written++;
      }
    }
  }
}

function start(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const ids = selectedIds(ctx, "user_file_ids", "files");
  if (!ids || !ids.length) throw badRequest("Missing required parameter: user_file_ids");
  const password = params.str("password");
  const store = storeOf(state);
  const nodes = ids.map((id) => state.requireLive(user, id));
  const folder = nodes.find((n) => n.isFolder);
  if (folder) throw new ApiError(400, "NotFile", "Not a file");
  const now = state.now();
  const out: ReturnType<typeof json>[] = [];
  for (const node of nodes) {
    const active = [...store.records.values()].find(
      (r) => r.ownerId === user.id && r.archiveId === node.id && r.status !== "EXTRACTED" && r.status !== "ERROR",
    );
    if (active) {
      // Asked again: a waiting one is answered as it is; one that needs a password takes the new one.
      if (active.status === "PASSWORD" && password !== undefined && password !== "") {
        active.password = password;
        setStatus(active, "PASSWORD_OBTAINED", null, now);
      }
      out.push(json(active));
      continue;
    }
    const rec: ExtractionRecord = {
      id: store.nextId++,
      ownerId: user.id,
      name: node.name,
      archiveId: node.id,
      partIds: isRar(node.content?.read(0, 8) ?? Buffer.alloc(0)) ? rarVolumes(state, user, node).map((n) => n.id) : [node.id],
      folderId: node.parentId ?? 0,
      password,
      status: "NEW",
      message: null,
      phaseStartedAt: now,
      plan: null,
      written: 0,
      failAt: null,
      failMessage: EXTRACT_MESSAGES.corrupt,
      createdIds: [],
    };
    store.records.set(rec.id, rec);
    out.push(json(rec));
  }
  return { extractions: out };
}

export const extractRoutes: Route[] = [
  route("POST", "/v2/files/extract", start),
  route("GET", "/v2/files/extract", (ctx) => ({
    extractions: [...storeOf(ctx.state).records.values()].filter((r) => r.ownerId === ctx.user.id).map(json),
  })),
  route("DELETE", "/v2/files/extract/{id}", (ctx) => {
    const store = storeOf(ctx.state);
    const rec = store.records.get(ctx.pathInt(1));
    if (!rec || rec.ownerId !== ctx.user.id) throw notFound("Extraction not found");
    store.records.delete(rec.id);
    return {};
  }),
];
