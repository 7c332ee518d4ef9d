// Fault injection and performance knobs. All default off; tests mutate emulator.knobs at any time.

/** One bad answer of files/list (Knobs.listingGlitches). */
export interface ListingGlitch {
  /** The folder whose next listing is bad; none: the next listing this glitch cuts, of any folder. */
  folder?: number;
  /** Children the answer keeps: 0 none (an empty answer), N the first N, "half" the first half rounded up. */
  keep: number | "half";
}

export interface Knobs {
  /** Request budget per token per window (real wall time, not the manual clock). */
  rateLimit: { limit: number; windowMs: number } | null;
  /** Every API request answers 429 with x-ratelimit-action: captcha-needed. */
  captchaNeeded: boolean;
  /** Random 5xx envelopes (Math.random: for soak tests only, never for assertions). */
  fail5xx: { probability: number; status?: number } | null;
  /** Deterministic: the next N API requests answer a 5xx envelope (status failNext5xxStatus). */
  failNext5xx: number;
  failNext5xxStatus: number;
  /** Delay before every request is handled (API, storage, tus). */
  latencyMs: number;
  /** Storage responses are destroyed after this many body bytes ... */
  cutDownloadAfterBytes: number | null;
  /** ... for this many more responses (null = every response). */
  cutsRemaining: number | null;
  /** Storage responses stop sending after this many bytes but keep the socket open ... */
  stallDownloadAfterBytes: number | null;
  /** ... for this many more responses (null = every response). */
  stallsRemaining: number | null;
  /** Storage ignores Range headers and always answers 200 with the whole file (some CDNs and proxies do). */
  ignoreRange: boolean;
  /** Bytes per second per storage connection (wall time; for benchmarks). */
  bandwidthPerConnection: number | null;
  /** Bytes per second of the storage's whole link, shared fairly by all its open connections (wall time). */
  storageLinkBytesPerSec: number | null;
  /** Storage bodies streaming at once per user: one more is answered 503 (put.io's limit is unpublished). */
  storageMaxConnections: number | null;
  /** The next N deletes (files/delete, trash/delete, trash/empty) answer 400 TRASH_LOCK_TIMEOUT. */
  trashLockNext: number;
  /** Storage URLs expire this long (emulator clock) after they were issued: then 410. */
  downloadUrlTtlMs: number | null;
  /** The next N tus PATCHes keep the first half of their body, then the connection is cut (as a network drop would). */
  cutTusPatchNext: number;
  /** Finished torrents go to SEEDING instead of COMPLETED. */
  seedTorrents: boolean;
  /** While SEEDING, the upload ratio grows by this much per hour of seeding (emulator clock; put.io's real rate depends on the swarm). */
  seedRatioPerHour: number;
  /** put.io stops seeding by itself (SEEDING → COMPLETED) after this long (emulator clock); null: seeds until stopped. */
  seedStopAfterMs: number | null;
  /** zips/create above this total size (bytes) answers 403 ZIP_TOTAL_SIZE_EXCEEDED (real limit unpublished). */
  zipMaxTotalSize: number | null;
  /** rss/create beyond this many feeds answers 403 TOO_MANY_RSS_FEEDS (real limit unpublished). */
  rssMaxFeeds: number | null;
  /** Each feed is fetched this often (emulator clock; put.io's period is unpublished). */
  rssFetchIntervalMs: number;
  /** The next N extractions fail midway: half their files are written, then ERROR. */
  extractFailNext: number;
  /** The next N subtitle downloads answer 404 (the subtitle vanished between list and fetch). */
  subtitle404Next: number;
  /** The next N subtitle downloads answer 200 with an empty body. */
  subtitleEmptyNext: number;
  /** The next N MP4 conversions end in ERROR half-way. */
  mp4FailNext: number;
  /** What a finished transfer of this name holds (a folder of these files; "a/b.mkv" in sub-folder a) instead of made-up bytes. */
  transferContents: Record<string, Array<{ name: string; data: Buffer }>>;
  /** transfers/add beyond this many active (not finished) transfers answers 403 TOO_MANY_ACTIVE_TRANSFERS (real limit and error unpublished). */
  maxActiveTransfers: number | null;
  /** File ids whose file objects carry `crc32: null` (put.io gives none for some files, and never for an MP4 version). */
  noCrc32: number[];
  /**
   * Bad listings (files/list) put.io has given, each used once, the first that fits first: the
   * answer lists only the first `keep` children of the folder with a null cursor (the rest
   * missing), while `parent` (with its size) and `total` stay right. A glitch without `folder`
   * waits for the next listing of any folder it would cut (one with more than `keep` children).
   */
  listingGlitches: ListingGlitch[];
  /**
   * Scripted API errors, each for the next `times` requests it matches (method, path, the token).
   * `after: true` runs the route first and then answers the error: a lost answer (the change took
   * effect, the client saw a 502). `{url}` in `message` is the request's `url` field, as put.io's
   * texts may quote what they were about.
   */
  apiFaults: ApiFault[];
  /** Disk size per token (bytes) instead of the 1 TiB plan: a transfer that does not fit is refused on add (see routes-transfers.ts). */
  diskSize: Record<string, number>;
}

export interface ApiFault {
  method?: string;
  /** The path, exactly ("/v2/transfers/add") or as a pattern. */
  path: string | RegExp;
  token?: string;
  status: number;
  errorType?: string;
  message?: string;
  after?: boolean;
  /** Matching requests let through before this fault applies. */
  skip?: number;
  times: number;
}

export function defaultKnobs(): Knobs {
  return {
    rateLimit: null,
    captchaNeeded: false,
    fail5xx: null,
    failNext5xx: 0,
    failNext5xxStatus: 500,
    latencyMs: 0,
    cutDownloadAfterBytes: null,
    cutsRemaining: null,
    stallDownloadAfterBytes: null,
    stallsRemaining: null,
    ignoreRange: false,
    bandwidthPerConnection: null,
    storageLinkBytesPerSec: null,
    storageMaxConnections: null,
    trashLockNext: 0,
    downloadUrlTtlMs: null,
    cutTusPatchNext: 0,
    seedTorrents: false,
    seedRatioPerHour: 0,
    seedStopAfterMs: null,
    zipMaxTotalSize: null,
    rssMaxFeeds: null,
    rssFetchIntervalMs: 15 * 60_000,
    extractFailNext: 0,
    subtitle404Next: 0,
    subtitleEmptyNext: 0,
    mp4FailNext: 0,
    transferContents: {},
    maxActiveTransfers: null,
    noCrc32: [],
    listingGlitches: [],
    apiFaults: [],
    diskSize: {},
  };
}
