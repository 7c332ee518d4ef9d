/**
 * PutioClient: the typed put.io client every node shares. One Transport (one queue per token),
 * one module per API domain, and the path resolver.
 */
import { AccountApi } from "./domains/account";
import { ConfigApi } from "./domains/config";
import { FilesApi } from "./domains/files";
import { TrashApi } from "./domains/trash";
import { OAuthApi } from "./domains/oauth";
import { TransfersApi } from "./domains/transfers";
import { UploadApi } from "./domains/upload";
import { ZipsApi } from "./domains/zips";
import { ExtractApi } from "./domains/extract";
import { MediaApi } from "./domains/media";
import { RssApi } from "./domains/rss";
import { EventsApi } from "./domains/events";
import { GenericApi } from "./domains/api";
import { PathResolver } from "./domains/paths";
import { DEFAULT_SOCKET_URL, Transport, type TransportOptions } from "./core/transport";

export interface ClientOptions extends TransportOptions {
  socketUrl?: string;
}

export class PutioClient {
  readonly transport: Transport;
  readonly socketUrl: string;
  readonly account: AccountApi;
  readonly oauth: OAuthApi;
  readonly files: FilesApi;
  readonly upload: UploadApi;
  readonly transfers: TransfersApi;
  readonly config: ConfigApi;
  readonly zips: ZipsApi;
  /** Archive extraction on put.io. */
  readonly extract: ExtractApi;
  /** Subtitles and MP4 versions of videos. */
  readonly media: MediaApi;
  readonly rss: RssApi;
  readonly events: EventsApi;
  /** Any put.io route, for what the typed domains do not cover. */
  readonly api: GenericApi;
  readonly trash: TrashApi;
  readonly paths: PathResolver;

  constructor(opts: ClientOptions = {}) {
    this.transport = new Transport(opts);
    this.socketUrl = opts.socketUrl || DEFAULT_SOCKET_URL;
    this.account = new AccountApi(this.transport);
    this.oauth = new OAuthApi(this.transport);
    this.files = new FilesApi(this.transport, (ids) => this.paths.invalidate(ids));
    this.upload = new UploadApi(this.transport);
    this.transfers = new TransfersApi(this.transport);
    this.config = new ConfigApi(this.transport);
    this.zips = new ZipsApi(this.transport);
    this.extract = new ExtractApi(this.transport);
    this.media = new MediaApi(this.transport);
    this.rss = new RssApi(this.transport);
    this.events = new EventsApi(this.transport);
    this.api = new GenericApi(this.transport);
    this.trash = new TrashApi(this.transport, () => this.paths.invalidate());
    this.paths = new PathResolver(this.files);
  }

  /** A folder given as an id (number or digits) or a path; paths are created when `create`. */
  async folderId(folder: number | string, opts: { create?: boolean; signal?: AbortSignal } = {}): Promise<number | null> {
    if (typeof folder === "number") return folder;
    const s = String(folder).trim();
    if (/^\d+$/.test(s)) return Number(s);
    return this.paths.resolve(s, opts);
  }

  /** Abort in-flight requests and close connections. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
