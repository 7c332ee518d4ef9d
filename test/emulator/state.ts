// The emulated account data: users and tokens, file trees, trash, transfers, config, device codes, cursors.
import { EventEmitter } from "node:events";
import * as crypto from "node:crypto";
import { Content, ContentSpec, extensionOf, typeInfoFor } from "./content";
import { putioDate, putioDay, ApiError, badRequest, notFound } from "./http-util";
import type { Knobs } from "./knobs";

export const ROOT_ID = 0;
export const DISK_SIZE = 1024 ** 4; // 1 TiB plan
export const TRASH_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface FileNode {
  id: number;
  ownerId: number;
  parentId: number | null;
  name: string;
  isFolder: boolean;
  children: number[];
  content: Content | null;
  createdAt: number;
  updatedAt: number;
  contentType: string;
  fileType: string;
  extension: string | null;
  /** Set on the top-level node of a trashed subtree only. */
  trashedAt: number | null;
}

export interface User {
  id: number;
  username: string;
  mail: string;
  root: FileNode;
  settings: Record<string, unknown>;
  config: Map<number, Record<string, unknown>>; // per OAuth app id
  trash: number[];
  warnings: { callback_url_has_failed?: boolean };
}

export interface TokenRecord {
  token: string;
  tokenId: number;
  userId: number;
  appId: number;
  revoked: boolean;
}

export interface DeviceCode {
  code: string;
  appId: number;
  createdAt: number;
  token: string | null;
}

export interface TransferRecord {
  id: number;
  ownerId: number;
  name: string;
  source: string;
  type: "URL" | "TORRENT";
  status: string;
  saveParentId: number;
  callbackUrl: string | null;
  size: number;
  downloaded: number;
  percentDone: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** When seeding ended (put.io stopped it, or a cancel): the ratio stays where it was. */
  seedStoppedAt?: number | null;
  updatedAt: number;
  fileId: number | null;
  errorMessage: string | null;
  hash: string | null;
  /** Planned outcome. */
  willFail: boolean;
  files: { name: string; size: number }[] | null;
  /** When the current lifecycle phase began (emulator clock). */
  phaseStartedAt: number;
  extra: Record<string, unknown>;
  /** A URL transfer of one of the emulator's own storage URLs: read when the download starts. */
  fetchSource?: () => Content | string;
  /** What that read got (the served bytes), stored as the new file when the transfer completes. */
  fetched?: Content;
}

export interface CursorRecord {
  kind: "files" | "search" | "transfers" | "trash";
  userId: number;
  ids: number[];
  offset: number;
  extra: Record<string, unknown>;
}

export interface AddTransferOptions {
  url: string;
  name?: string;
  saveParentId?: number;
  status?: string;
  size?: number;
  files?: { name: string; size: number }[];
  callbackUrl?: string;
  userToken?: string;
}

/** A file as the API serialises it (typed for tests; extra keys allowed). */
export interface FileJson {
  id: number;
  name: string;
  parent_id: number | null;
  size: number;
  content_type: string;
  crc32: string | null;
  created_at: string;
  updated_at: string;
  extension: string | null;
  file_type: string;
  first_accessed_at: string | null;
  folder_type: string;
  icon: string | null;
  is_hidden: boolean;
  is_mp4_available: boolean;
  is_shared: boolean;
  opensubtitles_hash: string | null;
  screenshot: string | null;
  [key: string]: unknown;
}

/** A transfer as the API serialises it. */
export interface TransferJson {
  id: number;
  name: string;
  status: string;
  type: string;
  source: string;
  save_parent_id: number;
  file_id: number | null;
  percent_done: number;
  size: number;
  downloaded: number;
  callback_url: string | null;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  [key: string]: unknown;
}

export const TERMINAL_STATUSES = new Set(["COMPLETED", "ERROR", "SEEDING"]);

function randomToken(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const bytes = crypto.randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export function defaultSettings(): Record<string, unknown> {
  // Key set of the newest real recording (GET_account_settings__putiosharp2020) plus TS SDK additions.
  return {
    beta_user: false,
    callback_url: null,
    dark_theme: false,
    default_download_folder: 0,
    // Declared by the official @putdotio/api-client IAccountSettings, absent from the TS SDK's account schema.
    disable_subtitles: false,
    dont_autoselect_subtitles: false,
    fluid_layout: false,
    hide_subtitles: false,
    history_enabled: true,
    is_invisible: false,
    locale: null,
    login_mails_enabled: true,
    next_episode: true,
    pushover_token: null,
    show_optimistic_usage: false,
    sort_by: "NAME_ASC",
    start_from: true,
    subtitle_languages: ["eng"],
    theater_mode: false,
    theme: "auto",
    transfer_sort_by: null,
    trash_enabled: true,
    tunnel_route_name: "Default",
    two_factor_enabled: false,
    use_private_download_ip: false,
    use_start_from: true,
    video_player: null,
  };
}

export class EmulatorState extends EventEmitter {
  readonly users = new Map<number, User>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly files = new Map<number, FileNode>();
  readonly transferMap = new Map<number, TransferRecord>();
  readonly deviceCodes = new Map<string, DeviceCode>();
  readonly cursors = new Map<string, CursorRecord>();
  /** Callback POSTs in flight; advance() awaits them. */
  readonly pending = new Set<Promise<unknown>>();
  readonly signingKey = crypto.randomBytes(32);
  /** Files put.io derives from another one (a converted MP4): served by storage, never listed. */
  readonly derived = new Map<number, { node: FileNode; sourceId: number }>();
  /** Every file or folder files/delete removed (to the trash or for good), in order, with the emulator time. */
  readonly deletionLog: Array<{ id: number; name: string; at: number }> = [];
  /** Route modules add the fields they own to every file object (is_mp4_available). */
  readonly fileDecorators: Array<(user: User, node: FileNode, json: FileJson) => void> = [];
  defaultUserId = 0;
  private nextUserId = 1_000_001;
  private nextFileId = 1_400_000_001;
  private nextTransferId = 70_000_001;
  private nextTokenId = 5_000_001;
  private clockOffset = 0;

  constructor(
    readonly knobs: Knobs,
    readonly realtimeClock: boolean,
    private readonly wallStart = Date.now(),
  ) {
    super();
    this.setMaxListeners(0);
  }

  // ---------- clock ----------

  /** Emulator time in ms: wall time in realtime mode, else start time plus advance()d time. */
  now(): number {
    return this.realtimeClock ? Date.now() : this.wallStart + this.clockOffset;
  }

  moveClock(ms: number): void {
    this.clockOffset += ms;
  }

  // ---------- users and tokens ----------

  addUser(opts: { username?: string } = {}): { token: string; userId: number } {
    const id = this.nextUserId++;
    const username = opts.username ?? `user${id}`;
    const created = this.now();
    const root: FileNode = {
      id: ROOT_ID,
      ownerId: id,
      parentId: null,
      name: "Your Files",
      isFolder: true,
      children: [],
      content: null,
      createdAt: created,
      updatedAt: created,
      contentType: "application/x-directory",
      fileType: "FOLDER",
      extension: null,
      trashedAt: null,
    };
    this.users.set(id, {
      id,
      username,
      mail: `${username}@example.com`,
      root,
      settings: defaultSettings(),
      config: new Map(),
      trash: [],
      warnings: {},
    });
    if (!this.defaultUserId) this.defaultUserId = id;
    return { token: this.issueToken(id, 0), userId: id };
  }

  issueToken(userId: number, appId: number): string {
    const token = randomToken();
    this.tokens.set(token, { token, tokenId: this.nextTokenId++, userId, appId, revoked: false });
    return token;
  }

  tokenRecord(token: string | undefined): TokenRecord | undefined {
    if (!token) return undefined;
    const rec = this.tokens.get(token);
    return rec && !rec.revoked ? rec : undefined;
  }

  userFor(token?: string): User {
    const id = token === undefined ? this.defaultUserId : this.tokenRecord(token)?.userId;
    const user = id === undefined ? undefined : this.users.get(id);
    if (!user) throw new Error(`unknown or revoked token ${token}`);
    return user;
  }

  push(userId: number, type: string, value: unknown): void {
    this.emit("push", userId, type, value);
  }

  // ---------- files ----------

  /** The node with this id owned by the user, if it is in the live tree (not in trash). */
  liveNode(user: User, id: number): FileNode | undefined {
    if (id === ROOT_ID) return user.root;
    const node = this.files.get(id);
    if (!node || node.ownerId !== user.id) return undefined;
    let cur: FileNode | undefined = node;
    while (cur && cur.id !== ROOT_ID) {
      if (cur.trashedAt !== null) return undefined;
      cur = cur.parentId === null ? undefined : cur.parentId === ROOT_ID ? user.root : this.files.get(cur.parentId);
    }
    return cur ? node : undefined;
  }

  requireLive(user: User, id: number): FileNode {
    const node = this.liveNode(user, id);
    if (!node) throw notFound("File not found");
    return node;
  }

  requireFolder(user: User, id: number): FileNode {
    const node = this.requireLive(user, id);
    if (!node.isFolder) throw badRequest("Parent is not a folder");
    return node;
  }

  childrenOf(user: User, folder: FileNode): FileNode[] {
    const owner = folder.id === ROOT_ID ? user.root : folder;
    return owner.children.map((id) => this.files.get(id)).filter((n): n is FileNode => !!n && n.trashedAt === null);
  }

  sizeOf(node: FileNode): number {
    if (!node.isFolder) return node.content?.size ?? 0;
    let total = 0;
    for (const id of node.children) {
      const child = this.files.get(id);
      if (child && child.trashedAt === null) total += this.sizeOf(child);
    }
    return total;
  }

  /** put.io name rules for create-folder/rename/copy. */
  validateName(name: string | undefined): string {
    if (name === undefined || name.trim() === "") throw badRequest("Name cannot be empty", "EMPTY_NAME");
    if (name.includes("/")) throw badRequest("Name cannot contain a slash", "SLASH_IN_NAME");
    if (Buffer.byteLength(name, "utf8") > 255) throw badRequest("Name is too long", "NAME_TOO_LONG");
    return name;
  }

  assertNameFree(user: User, parent: FileNode, name: string, exceptId?: number): void {
    if (this.childrenOf(user, parent).some((c) => c.name === name && c.id !== exceptId)) {
      throw badRequest("Name already exist", "NAME_ALREADY_EXIST");
    }
  }

  createNode(user: User, parent: FileNode, name: string, content: Content | null, opts: FileOptions = {}): FileNode {
    const created = opts.createdAt?.getTime() ?? this.now();
    const info = typeInfoFor(name);
    const node: FileNode = {
      id: this.nextFileId++,
      ownerId: user.id,
      parentId: parent.id,
      name,
      isFolder: content === null,
      children: [],
      content,
      createdAt: created,
      updatedAt: created,
      contentType: content === null ? "application/x-directory" : (opts.contentType ?? info.contentType),
      fileType: content === null ? "FOLDER" : (opts.fileType ?? info.fileType),
      extension: content === null ? null : extensionOf(name),
      trashedAt: null,
    };
    this.files.set(node.id, node);
    parent.children.push(node.id);
    this.push(user.id, "file_create", this.fileJson(user, node));
    return node;
  }

  /** A derived file of `source` (not in any folder); storage serves it while the source is live. */
  addDerivedNode(user: User, source: FileNode, name: string, content: Content): FileNode {
    const info = typeInfoFor(name);
    const now = this.now();
    const node: FileNode = {
      id: this.nextFileId++,
      ownerId: user.id,
      parentId: source.parentId,
      name,
      isFolder: false,
      children: [],
      content,
      createdAt: now,
      updatedAt: now,
      contentType: info.contentType,
      fileType: info.fileType,
      extension: extensionOf(name),
      trashedAt: null,
    };
    this.derived.set(node.id, { node, sourceId: source.id });
    return node;
  }

  derivedNode(user: User, id: number): FileNode | undefined {
    const d = this.derived.get(id);
    return d && d.node.ownerId === user.id && this.liveNode(user, d.sourceId) ? d.node : undefined;
  }

  detach(user: User, node: FileNode): void {
    const parent = node.parentId === ROOT_ID ? user.root : node.parentId === null ? undefined : this.files.get(node.parentId);
    if (parent) parent.children = parent.children.filter((id) => id !== node.id);
  }

  /** Removes a subtree for good. */
  destroy(user: User, node: FileNode): void {
    this.detach(user, node);
    const stack = [node];
    const gone = new Set<number>();
    while (stack.length) {
      const n = stack.pop()!;
      this.files.delete(n.id);
      gone.add(n.id);
      for (const id of n.children) {
        const c = this.files.get(id);
        if (c) stack.push(c);
      }
    }
    // Children trashed on their own earlier leave the trash with their deleted ancestor.
    user.trash = user.trash.filter((id) => !gone.has(id));
  }

  moveToTrash(user: User, node: FileNode): void {
    node.trashedAt = this.now();
    user.trash.push(node.id);
  }

  fileJson(user: User, node: FileNode): FileJson {
    // Field set of the newest real file objects (create-folder/search putiosharp2020) plus TS SDK FileBaseSchema.
    const isVideo = node.fileType === "VIDEO";
    const json: FileJson = {
      content_type: node.contentType,
      crc32: node.content && !this.knobs.noCrc32.includes(node.id) ? node.content.crc32() : null,
      created_at: putioDate(node.createdAt),
      extension: node.extension,
      file_type: node.fileType,
      first_accessed_at: null,
      folder_type: "REGULAR",
      icon: node.isFolder ? "https://api.put.io/images/file_types/folder.png" : `https://api.put.io/images/file_types/${node.fileType.toLowerCase()}.png`,
      id: node.id,
      is_hidden: false,
      is_mp4_available: false,
      is_shared: false,
      name: node.name,
      opensubtitles_hash: isVideo && node.content && node.content.size > 0 ? node.content.opensubtitlesHash() : null,
      parent_id: node.parentId,
      screenshot: null,
      size: this.sizeOf(node),
      updated_at: putioDate(node.updatedAt),
    };
    if (node.isFolder) json.sort_by = user.settings.sort_by;
    for (const decorate of this.fileDecorators) decorate(user, node, json);
    return json;
  }

  trashJson(user: User, node: FileNode): Record<string, unknown> {
    const trashedAt = node.trashedAt ?? this.now();
    const {
      crc32: _crc,
      is_hidden: _h,
      is_mp4_available: _m,
      is_shared: _s,
      opensubtitles_hash: _o,
      updated_at: _u,
      sort_by: _sb,
      ...rest
    } = this.fileJson(user, node);
    // TrashFile: dates are date-only in put.io's SDK fixtures.
    return { ...rest, deleted_at: putioDay(trashedAt), expiration_date: putioDay(trashedAt + TRASH_RETENTION_MS) };
  }

  // ---------- public seeding / inspection API ----------

  private resolveFolderForSeed(user: User, parentId: number): FileNode {
    const parent = this.liveNode(user, parentId);
    if (!parent || !parent.isFolder) throw new Error(`no folder ${parentId} for user ${user.id}`);
    return parent;
  }

  addFolder(parentId: number, name: string, userToken?: string): FileJson {
    const user = this.userFor(userToken);
    const node = this.createNode(user, this.resolveFolderForSeed(user, parentId), name, null);
    return this.fileJson(user, node);
  }

  addFile(parentId: number, name: string, content: ContentSpec, opts: FileOptions = {}, userToken?: string): FileJson {
    const user = this.userFor(userToken);
    const node = this.createNode(user, this.resolveFolderForSeed(user, parentId), name, Content.from(content, this.nextFileId), opts);
    return this.fileJson(user, node);
  }

  private ownerOf(id: number, userToken?: string): User {
    if (id === ROOT_ID || userToken !== undefined) return this.userFor(userToken);
    const node = this.files.get(id);
    return node ? this.users.get(node.ownerId)! : this.userFor();
  }

  getFile(id: number, userToken?: string): FileJson | undefined {
    const user = this.ownerOf(id, userToken);
    const node = this.liveNode(user, id);
    return node ? this.fileJson(user, node) : undefined;
  }

  listChildren(id: number, userToken?: string): FileJson[] {
    const user = this.ownerOf(id, userToken);
    const node = this.liveNode(user, id);
    if (!node) throw new Error(`no file ${id}`);
    return this.childrenOf(user, node).map((c) => this.fileJson(user, c));
  }

  /** Bytes exactly as storage serves them (including a corruptCrc flip); end is exclusive. */
  fileBytes(id: number, start?: number, end?: number): Buffer {
    const node = this.files.get(id);
    if (!node?.content) throw new Error(`no file ${id}`);
    return node.content.read(start ?? 0, end ?? node.content.size);
  }

  trashed(userToken?: string): Record<string, unknown>[] {
    const user = this.userFor(userToken);
    return user.trash.map((id) => this.trashJson(user, this.files.get(id)!));
  }

  corruptCrc(fileId: number): void {
    const node = this.files.get(fileId);
    if (!node?.content || node.content.size === 0) throw new Error(`no non-empty file ${fileId}`);
    node.content.corruptAt = Math.floor(node.content.size / 2);
  }

  replaceFileContent(fileId: number, content: ContentSpec): FileJson {
    const node = this.files.get(fileId);
    if (!node || node.isFolder) throw new Error(`no file ${fileId}`);
    const user = this.users.get(node.ownerId)!;
    node.content = Content.from(content, fileId * 7 + 1);
    node.updatedAt = this.now();
    const json = this.fileJson(user, node);
    this.push(user.id, "file_update", json);
    return json;
  }

  // ---------- transfers ----------

  newTransfer(user: User, opts: Omit<AddTransferOptions, "userToken">): TransferRecord {
    const now = this.now();
    const url = opts.url;
    const isTorrent = url.startsWith("magnet:") || url.toLowerCase().endsWith(".torrent");
    const hash = isTorrent ? (/xt=urn:btih:([0-9a-fA-F]{40})/.exec(url)?.[1]?.toLowerCase() ?? crypto.createHash("sha1").update(url).digest("hex")) : null;
    const plannedSize =
      opts.files?.reduce((s, f) => s + f.size, 0) ??
      opts.size ??
      1024 * (64 + (parseInt(crypto.createHash("md5").update(url).digest("hex").slice(0, 4), 16) % 960));
    const t: TransferRecord = {
      id: this.nextTransferId++,
      ownerId: user.id,
      name: opts.name ?? transferNameFor(url),
      source: url,
      type: isTorrent ? "TORRENT" : "URL",
      status: "IN_QUEUE",
      saveParentId: opts.saveParentId ?? (user.settings.default_download_folder as number),
      callbackUrl: opts.callbackUrl ?? null,
      size: plannedSize,
      downloaded: 0,
      percentDone: 0,
      createdAt: now,
      // started_at is already set while IN_QUEUE (a put.io staff comment).
      startedAt: now,
      finishedAt: null,
      updatedAt: now,
      fileId: null,
      errorMessage: null,
      hash,
      willFail: /fail/i.test(url) || !/^(magnet:|https?:\/\/|ftp:\/\/)/i.test(url),
      files: opts.files ?? null,
      phaseStartedAt: now,
      extra: {},
    };
    this.transferMap.set(t.id, t);
    return t;
  }

  transferJson(t: TransferRecord): TransferJson {
    const user = this.users.get(t.ownerId)!;
    const downloading = t.status === "DOWNLOADING";
    const speed = downloading ? Math.round(t.size / (DOWNLOAD_MS / 1000)) : 0;
    // Field set of the newest real list item (GET_transfers_list__putiosharp2020) plus links/updated_at/userfile_exists.
    return {
      availability: t.type === "TORRENT" ? 100 : null,
      callback_url: t.callbackUrl,
      client_ip: null,
      completion_percent: t.percentDone,
      created_at: putioDate(t.createdAt),
      created_torrent: false,
      current_ratio: this.seedRatio(t),
      down_speed: speed,
      download_id: t.id + 1000,
      downloaded: t.downloaded,
      error_message: t.errorMessage,
      estimated_time: downloading && speed > 0 ? Math.ceil((t.size - t.downloaded) / speed) : null,
      file_id: t.fileId,
      finished_at: t.finishedAt === null ? null : putioDate(t.finishedAt),
      hash: t.hash,
      id: t.id,
      is_private: false,
      links: t.type === "TORRENT" ? [{ label: "torrent", url: `/v2/transfers/${t.id}/torrent` }] : [],
      name: t.name,
      peers_connected: downloading && t.type === "TORRENT" ? 3 : 0,
      peers_getting_from_us: 0,
      peers_sending_to_us: downloading && t.type === "TORRENT" ? 3 : 0,
      percent_done: t.percentDone,
      save_parent_id: t.saveParentId,
      seconds_seeding: t.status === "SEEDING" ? Math.round((this.now() - (t.finishedAt ?? this.now())) / 1000) : null,
      simulated: false,
      size: t.size,
      source: t.source,
      started_at: t.startedAt === null ? null : putioDate(t.startedAt),
      status: t.status,
      status_message: statusMessage(t),
      subscription_id: null,
      torrent_link: t.type === "TORRENT" ? `/v2/transfers/${t.id}/torrent` : null,
      tracker: null,
      tracker_message: null,
      type: t.type,
      up_speed: 0,
      updated_at: putioDate(t.updatedAt),
      uploaded: Math.round(this.seedRatio(t) * t.size),
      userfile_exists: t.fileId !== null && !!this.liveNode(user, t.fileId),
      ...t.extra,
    };
  }

  /** The upload ratio a torrent reached while seeding (knobs.seedRatioPerHour), two decimals as put.io shows it. */
  private seedRatio(t: TransferRecord): number {
    if (t.finishedAt === null || t.type !== "TORRENT") return 0;
    const end = t.status === "SEEDING" ? this.now() : (t.seedStoppedAt ?? t.finishedAt);
    return Math.floor(((this.knobs.seedRatioPerHour * Math.max(0, end - t.finishedAt)) / 3_600_000) * 100) / 100;
  }

  /** Stops a torrent's seeding (put.io's cancel of a SEEDING transfer, or its own seeding limit). */
  stopSeeding(t: TransferRecord): void {
    t.seedStoppedAt = this.now();
    this.changeStatus(t, "COMPLETED");
  }

  userTransfers(user: User): TransferRecord[] {
    return [...this.transferMap.values()].filter((t) => t.ownerId === user.id);
  }

  requireTransfer(user: User, id: number): TransferRecord {
    const t = this.transferMap.get(id);
    if (!t || t.ownerId !== user.id) throw new ApiError(404, "TRANSFER_NOT_FOUND", "Transfer not found");
    return t;
  }

  removeTransfer(t: TransferRecord): void {
    this.transferMap.delete(t.id);
    this.push(t.ownerId, "transfer_delete", this.transferJson(t));
    this.push(t.ownerId, "transfers_count", this.userTransfers(this.users.get(t.ownerId)!).length);
  }

  addTransfer(opts: AddTransferOptions): TransferJson {
    const user = this.userFor(opts.userToken);
    const t = this.newTransfer(user, opts);
    this.push(user.id, "transfer_create", this.transferJson(t));
    this.push(user.id, "transfers_count", this.userTransfers(user).length);
    if (opts.status && opts.status !== "IN_QUEUE") this.setTransferStatus(t.id, opts.status);
    return this.transferJson(t);
  }

  getTransfer(id: number): TransferJson | undefined {
    const t = this.transferMap.get(id);
    return t ? this.transferJson(t) : undefined;
  }

  transfers(userToken?: string): TransferJson[] {
    return this.userTransfers(this.userFor(userToken)).map((t) => this.transferJson(t));
  }

  /** Jumps a transfer to a status (side effects as if it got there: files, callback, socket events). */
  setTransferStatus(id: number, status: string, extra: Record<string, unknown> = {}): TransferJson {
    const t = this.transferMap.get(id);
    if (!t) throw new Error(`no transfer ${id}`);
    const now = this.now();
    if (status === "COMPLETED" || status === "SEEDING") {
      if (t.fileId === null) this.finishTransfer(t, status);
      else this.changeStatus(t, status);
    } else if (status === "ERROR") {
      t.errorMessage = (extra.error_message as string | undefined) ?? "Download failed";
      this.changeStatus(t, "ERROR");
    } else {
      t.phaseStartedAt = now;
      if (status === "DOWNLOADING" && t.percentDone === 100) t.percentDone = 0;
      this.changeStatus(t, status);
    }
    Object.assign(t.extra, extra);
    return this.transferJson(t);
  }

  changeStatus(t: TransferRecord, status: string): void {
    t.status = status;
    t.updatedAt = this.now();
    this.push(t.ownerId, "transfer_update", this.transferJson(t));
  }

  /** Advances every transfer's lifecycle to the current emulator time. */
  tickTransfers(): void {
    const now = this.now();
    for (const t of [...this.transferMap.values()]) {
      if (t.status === "SEEDING" && this.knobs.seedStopAfterMs !== null && t.finishedAt !== null && now - t.finishedAt >= this.knobs.seedStopAfterMs) {
        this.stopSeeding(t);
      }
      for (let guard = 0; guard < 10 && !TERMINAL_STATUSES.has(t.status); guard++) {
        const elapsed = now - t.phaseStartedAt;
        if (t.status === "DOWNLOADING") {
          if (t.willFail && elapsed >= DOWNLOAD_MS / 2) {
            this.setProgress(t, 50);
            t.errorMessage = /^(magnet:|https?:\/\/|ftp:\/\/)/i.test(t.source) ? "Could not download the URL" : "Unsupported URL";
            t.finishedAt = t.phaseStartedAt + DOWNLOAD_MS / 2;
            this.changeStatus(t, "ERROR");
          } else if (elapsed >= DOWNLOAD_MS) {
            this.setProgress(t, 100);
            t.phaseStartedAt += DOWNLOAD_MS;
            this.changeStatus(t, "COMPLETING");
          } else {
            const pct = Math.floor((elapsed / DOWNLOAD_MS) * 100);
            if (pct !== t.percentDone) {
              this.setProgress(t, pct);
              t.updatedAt = now;
              this.push(t.ownerId, "transfer_update", this.transferJson(t));
            }
            break;
          }
        } else if (t.status === "COMPLETING") {
          if (elapsed < COMPLETING_MS) break;
          this.finishTransfer(t, t.type === "TORRENT" && this.knobs.seedTorrents ? "SEEDING" : "COMPLETED");
        } else if (t.status === "STOPPING") {
          break;
        } else {
          // IN_QUEUE and the other waiting statuses.
          if (elapsed < QUEUE_MS) break;
          t.phaseStartedAt += QUEUE_MS;
          if (t.fetchSource && !this.startFetch(t)) break;
          this.changeStatus(t, "DOWNLOADING");
        }
      }
    }
    this.emit("tick"); // zips and RSS feeds move on the same clock
  }

  /** A storage URL is read when the download starts: expired, forged or of a deleted file → ERROR. */
  private startFetch(t: TransferRecord): boolean {
    const got = t.fetchSource!();
    t.fetchSource = undefined;
    if (typeof got === "string") {
      t.errorMessage = got;
      t.finishedAt = this.now();
      this.changeStatus(t, "ERROR");
      return false;
    }
    t.fetched = got;
    t.size = got.size;
    return true;
  }

  private setProgress(t: TransferRecord, pct: number): void {
    t.percentDone = pct;
    t.downloaded = Math.floor((t.size * pct) / 100);
  }

  private finishTransfer(t: TransferRecord, status: "COMPLETED" | "SEEDING"): void {
    const user = this.users.get(t.ownerId)!;
    const parent = this.liveNode(user, t.saveParentId);
    const target = parent && parent.isFolder ? parent : user.root;
    let node: FileNode;
    const given = Object.prototype.hasOwnProperty.call(this.knobs.transferContents, t.name) ? this.knobs.transferContents[t.name] : undefined;
    if (t.fetched) {
      node = this.createNode(user, target, t.name, t.fetched);
    } else if (given) {
      node = this.createNode(user, target, t.name, null);
      for (const f of given) {
        // A torrent's files keep their sub-folders on put.io ("Sample/x.mkv").
        const parts = f.name.split("/");
        let dir = node;
        for (const d of parts.slice(0, -1)) {
          const known = dir.children.map((id) => this.files.get(id)!).find((c) => c.isFolder && c.name === d);
          dir = known ?? this.createNode(user, dir, d, null);
        }
        this.createNode(user, dir, parts[parts.length - 1]!, Content.from(f.data, 0));
      }
    } else if (t.files) {
      node = this.createNode(user, target, t.name, null);
      t.files.forEach((f, i) => this.createNode(user, node, f.name, Content.from({ size: f.size, seed: t.id * 100 + i }, 0)));
    } else {
      node = this.createNode(user, target, t.name, Content.from({ size: t.size, seed: t.id }, 0));
    }
    this.setProgress(t, 100);
    t.fileId = node.id;
    t.finishedAt = this.now();
    this.changeStatus(t, status);
    this.postCallback(user, t);
  }

  /** A failed callback: put.io sets the account warning and records a transfer_callback_error event. */
  private callbackFailed(user: User, t: TransferRecord, message: string): void {
    user.warnings.callback_url_has_failed = true;
    this.emit("callback-failed", user.id, { transfer_id: t.id, transfer_name: t.name, message });
  }

  /** put.io POSTs the form-encoded transfer to callback_url when files are ready. */
  private postCallback(user: User, t: TransferRecord): void {
    const url = t.callbackUrl ?? (user.settings.callback_url as string | null);
    if (!url) return;
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(this.transferJson(t))) {
      if (v === null) form.append(k, "");
      else if (typeof v !== "object") form.append(k, String(v));
    }
    const p = fetch(url, { method: "POST", body: form, signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) this.callbackFailed(user, t, `HTTP ${res.status}`);
      })
      .catch((err: Error) => this.callbackFailed(user, t, err.message));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async settle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  // ---------- cursors ----------

  newCursor(rec: CursorRecord): string | null {
    if (rec.offset >= rec.ids.length) return null;
    const c = crypto.randomBytes(24).toString("base64url");
    this.cursors.set(c, rec);
    return c;
  }

  /** An unknown, foreign or wrong-kind cursor is a 400 (seen live on trash/list/continue). */
  takeCursor(cursor: string | undefined, kind: CursorRecord["kind"], user: User): CursorRecord {
    if (!cursor) throw badRequest("Missing required parameter: cursor");
    const rec = this.cursors.get(cursor);
    if (!rec || rec.kind !== kind || rec.userId !== user.id) throw badRequest("Invalid cursor");
    return rec;
  }
}

export interface FileOptions {
  createdAt?: Date;
  fileType?: string;
  contentType?: string;
}

// Lifecycle durations on the emulator clock (see README: advance(6000) finishes a fresh transfer).
export const QUEUE_MS = 1000;
export const DOWNLOAD_MS = 4000;
export const COMPLETING_MS = 1000;

function transferNameFor(url: string): string {
  if (url.startsWith("magnet:")) {
    const dn = /[?&]dn=([^&]*)/.exec(url)?.[1];
    if (dn) return decodeURIComponent(dn.replace(/\+/g, " "));
    const hash = /xt=urn:btih:([0-9a-zA-Z]+)/.exec(url)?.[1] ?? "unknown";
    return `magnet-${hash.slice(0, 8).toLowerCase()}`;
  }
  try {
    const u = new URL(url);
    const last = u.pathname.split("/").filter(Boolean).pop();
    return last ? decodeURIComponent(last).replace(/\.torrent$/i, "") : u.hostname;
  } catch {
    return url.slice(0, 100) || "transfer";
  }
}

function statusMessage(t: TransferRecord): string {
  switch (t.status) {
    case "IN_QUEUE":
      return "In queue...";
    case "DOWNLOADING":
      return `Downloading ${t.percentDone}%`;
    case "COMPLETING":
      return "Completing...";
    case "COMPLETED":
      return "Completed";
    case "SEEDING":
      return "Seeding";
    case "ERROR":
      return t.errorMessage ?? "Error";
    default:
      return t.status;
  }
}
