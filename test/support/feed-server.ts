/** A local HTTP server playing an RSS feed the test controls (items, status, garbage). */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FeedEntry {
  title: string;
  url?: string;
  guid?: string;
}

export interface FeedServer {
  url: string;
  items: FeedEntry[];
  /** Answer with this instead of a feed (e.g. "not xml"), or an HTTP status. */
  body: string | null;
  status: number;
  hits: number;
  close(): Promise<void>;
}

export function rssXml(items: FeedEntry[]): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
  return (
    `<?xml version="1.0"?><rss version="2.0"><channel><title>test</title>` +
    items
      .map(
        (i) =>
          `<item><title>${esc(i.title)}</title>${i.url ? `<enclosure url="${esc(i.url)}" type="application/x-bittorrent"/>` : ""}<guid>${esc(i.guid ?? i.title)}</guid><pubDate>Mon, 02 Jun 2025 10:00:00 GMT</pubDate></item>`,
      )
      .join("") +
    `</channel></rss>`
  );
}

export async function startFeedServer(items: FeedEntry[] = []): Promise<FeedServer> {
  const feed: Omit<FeedServer, "url" | "close"> = { items, body: null, status: 200, hits: 0 };
  const server = http.createServer((_req, res) => {
    feed.hits++;
    const text = feed.body ?? rssXml(feed.items);
    res.writeHead(feed.status, { "content-type": "application/rss+xml" });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(feed, {
    url: `http://127.0.0.1:${port}/feed.xml`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  }) as FeedServer;
}
