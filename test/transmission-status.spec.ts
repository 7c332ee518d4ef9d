/**
 * lib/transmission/status.ts, the sidebar's read-only view of a Transmission node's torrents: the
 * order and cap of the list, each phase's figures, and texts that never show a local absolute path.
 * (What the account publishes from it in a real Node-RED: transmission-sidebar.spec.ts.)
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { render, t } from "../lib/core/texts";
import { emptyLive, type TorrentRecord } from "../lib/transmission/model";
import { hideLocalPaths, statusList } from "../lib/transmission/status";
import { readState } from "../lib/transmission/store";
import type { PendingCleanup, PersistedState } from "../lib/transmission/types";

describe("lib/transmission/status: the sidebar's view of a node's torrents", () => {
  const ROOT = "/srv/downloads";
  const record = (id: number, over: Partial<TorrentRecord> = {}): TorrentRecord => ({
    id,
    hash: id.toString(16).padStart(40, "0"),
    name: `T${id}`,
    category: "tv",
    downloadDir: `${ROOT}/tv`,
    localDir: `${ROOT}/tv`,
    transferId: 100 + id,
    fileId: null,
    phase: "putio",
    error: null,
    labels: [],
    addedAt: 1000 + id,
    putioDoneAt: null,
    doneAt: null,
    size: 0,
    fileCount: 1,
    topPath: null,
    files: [],
    seed: {},
    origin: "rpc",
    ...over,
  });

  it("texts without the download folder or any other absolute path; running ones first, then the newest, capped", () => {
    const failed = record(1, { phase: "failed", error: "x", errorText: t("transmission.not-on-disk", { path: `${ROOT}/tv/Show/E01.mkv` }), doneAt: 5000 });
    const done = record(2, { phase: "done", fileId: 7, doneAt: 4000, size: 10 });
    const copying = record(3, { phase: "local", fileId: 8, size: 100 });
    const live = new Map([[3, { ...emptyLive(), localBytes: 40, localSpeed: 20 }]]);
    const cleanup: PendingCleanup = {
      record: record(4, { phase: "done", fileId: 9 }),
      fileIds: [9],
      skipTrash: true,
      removeTransferId: 104,
      cancelTransferId: null,
      since: 6_000_000,
      attempts: 3,
      error: "EACCES: permission denied, open '/var/lib/other/state.json'",
    };
    const { total, torrents } = statusList([failed, done, copying], (id) => live.get(id), [cleanup], { localRoot: ROOT, max: 3 });
    assert.equal(total, 4);
    assert.deepEqual(
      torrents.map((x) => [x.id, x.phase]),
      [
        [4, "removing"],
        [3, "copying"],
        [1, "failed"],
      ],
    );
    assert.deepEqual(torrents[1]!.eta, 3);
    assert.deepEqual(torrents[2]!.error, t("transmission.not-on-disk", { path: "tv/Show/E01.mkv" }));
    assert.equal(torrents[0]!.error, "EACCES: permission denied, open '…/state.json'");
    assert.deepEqual(torrents[0]!.cleanup, { files: 1, trash: false, transfer: "remove", attempts: 3, since: 6_000_000 });
    // Read-only: the records are as they were.
    assert.deepEqual(failed.errorText, t("transmission.not-on-disk", { path: `${ROOT}/tv/Show/E01.mkv` }));
  });

  it("a pending clean-up's error is a text by code (shown in the runtime's language, local paths hidden) and survives the store; an older state's English string still shows", () => {
    const why = t("transmission.owner-failed", { path: `${ROOT}/tv/Show`, owner: "1000:1000", error: "EPERM" });
    const pending = (id: number, over: Partial<PendingCleanup>): PendingCleanup => ({
      record: record(id, { phase: "done", fileId: 9 }),
      fileIds: [9],
      skipTrash: false,
      removeTransferId: null,
      cancelTransferId: null,
      since: 1000,
      attempts: 1,
      error: null,
      ...over,
    });
    const saved: PersistedState = {
      version: 1,
      nextId: 9,
      torrents: [],
      session: {},
      folders: {},
      cleanups: [pending(1, { error: render(why), errorText: why }), pending(2, { error: "put.io unreachable" })],
    };
    const restored = readState(JSON.parse(JSON.stringify(saved)))!.cleanups ?? [];
    assert.deepEqual(restored, saved.cleanups);
    const { torrents } = statusList([], () => undefined, restored, { localRoot: ROOT, max: 5 });
    assert.deepEqual(torrents.map((x) => [x.id, x.error]).sort(), [
      [1, t("transmission.owner-failed", { path: "tv/Show", owner: "1000:1000", error: "EPERM" })],
      [2, "put.io unreachable"],
    ]);
  });

  it("each phase from the record and put.io's live figures: waiting, downloading, verifying, seeding against the goal, finished", () => {
    const seeding = { stopped: false, ratio: 0.75, uploaded: 300, seconds: 600, at: 2000 };
    const records = [
      record(1),
      record(2),
      record(3, { phase: "local", fileId: 8, size: 100 }),
      record(4, {
        phase: "done",
        fileId: 9,
        size: 50,
        doneAt: 3000,
        seeding,
        seed: { seedRatioLimit: 1.5, seedRatioMode: 1, seedIdleLimit: 90, seedIdleMode: 0 },
      }),
      record(5, { phase: "done", fileId: 10, size: 50, doneAt: 2500, seeding: { ...seeding, stopped: true } }),
    ];
    const live = new Map([
      [1, { ...emptyLive(), putioStatus: "IN_QUEUE" }],
      [2, { ...emptyLive(), putioStatus: "DOWNLOADING", putioPercent: 40, putioSpeed: 1000, putioEta: 12 }],
      [3, { ...emptyLive(), localBytes: 100, localSpeed: 50 }],
    ]);
    const byId = new Map(statusList(records, (id) => live.get(id), [], { localRoot: ROOT }).torrents.map((x) => [x.id, x]));
    const pick = (id: number, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (byId.get(id) as unknown as Record<string, unknown>)[k]]));
    assert.deepEqual(pick(1, ["phase", "putioPercent", "bytesPerSecond", "eta"]), { phase: "waiting", putioPercent: 0, bytesPerSecond: 0, eta: null });
    assert.deepEqual(pick(2, ["phase", "putioPercent", "bytesPerSecond", "eta"]), { phase: "downloading", putioPercent: 40, bytesPerSecond: 1000, eta: 12 });
    // Every byte written, not yet done: the last checks run.
    assert.deepEqual(pick(3, ["phase", "putioPercent", "localBytes", "bytesPerSecond", "eta"]), {
      phase: "verifying",
      putioPercent: 100,
      localBytes: 100,
      bytesPerSecond: 0,
      eta: null,
    });
    assert.deepEqual(pick(4, ["phase", "localBytes", "seeding"]), {
      phase: "seeding",
      localBytes: 50,
      seeding: { stopped: false, ratio: 0.75, uploaded: 300, seconds: 600, goalRatio: 1.5, goalMinutes: null },
    });
    assert.equal(byId.get(5)!.phase, "finished");
    assert.equal(byId.get(5)!.seeding!.stopped, true);
  });

  it("hideLocalPaths: no text keeps the download folder or another absolute path (property)", () => {
    const piece = fc.oneof(
      fc.constantFrom(ROOT, `${ROOT}/`, `${ROOT}/tv/a b.mkv`, "/etc/ssl/private/key.pem", "C:\\Users\\me\\Downloads\\x.mkv", "'", '"', " ", "(", ":", "=", ","),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const out = hideLocalPaths(parts.join(""), ROOT);
        assert.ok(!out.includes(ROOT), out);
        // An absolute path: one whose first separator follows no name character.
        assert.doesNotMatch(out, /(?<![\w.~-])(?:\/etc\/ssl|C:\\Users)/, out);
      }),
      { numRuns: 500 },
    );
  });
});
