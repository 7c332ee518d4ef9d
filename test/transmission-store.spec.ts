/**
 * The Transmission node's state kept twice (lib/transmission/store.ts LayeredStore): the local file
 * is read first and written first; put.io's copy follows, and a write put.io refused is sent again
 * (the newest state only) until taken.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStore, LayeredStore, MemoryStore } from "../lib/transmission/store";
import type { PersistedState } from "../lib/transmission/types";

const state = (nextId: number): PersistedState => ({ version: 1, nextId, torrents: [], session: {}, folders: {}, cleanups: [] });

/** A put.io config store that is down until told otherwise. */
class FlakyStore extends MemoryStore {
  down = false;
  override async load(): Promise<PersistedState | null> {
    if (this.down) throw new Error("put.io unreachable");
    return super.load();
  }
  override async save(s: PersistedState): Promise<void> {
    if (this.down) throw new Error("put.io unreachable");
    return super.save(s);
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(cond(), "timed out");
}

describe("transmission state store: local file and put.io", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-trstore-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a save while put.io is down is kept locally and reaches put.io once it is back (the newest state only)", async () => {
    const remote = new FlakyStore();
    const errors: unknown[] = [];
    const store = new LayeredStore(new FileStore(path.join(dir, "s.json")), remote, { retryMs: 50, onRemoteError: (e) => errors.push(e) });
    remote.down = true;
    await store.save(state(2));
    await store.save(state(3));
    assert.equal(store.inSync, false);
    assert.ok(errors.length >= 1);
    assert.equal((await new FileStore(path.join(dir, "s.json")).load())?.nextId, 3, "the local file has the newest state");
    remote.down = false;
    await until(() => store.inSync);
    assert.equal((remote.value as PersistedState).nextId, 3);
    store.close();
  });

  it("loads the local file without asking put.io; without one, put.io's state (and keeps it locally)", async () => {
    const remote = new FlakyStore();
    await remote.save(state(7));
    const file = path.join(dir, "s.json");
    const first = new LayeredStore(new FileStore(file), remote);
    assert.equal((await first.load())?.nextId, 7);
    assert.ok(fs.existsSync(file));
    remote.down = true;
    assert.equal((await new LayeredStore(new FileStore(file), remote).load())?.nextId, 7, "put.io down: the local copy answers");
    fs.writeFileSync(file, "{ torn");
    await assert.rejects(new LayeredStore(new FileStore(file), remote).load(), /unreachable/, "a torn local file falls back to put.io");
  });

  it("saves at once (a closing and a starting node on one file) never collide: each lands whole, the last one wins", async () => {
    const file = path.join(dir, "s.json");
    const a = new FileStore(file);
    const b = new FileStore(file);
    await Promise.all([a.save(state(1)), b.save(state(2)), a.save(state(3)), b.save(state(4))]);
    assert.ok([2, 3, 4].includes((await new FileStore(file).load())!.nextId), "a whole state");
    await a.save(state(5));
    assert.equal((await new FileStore(file).load())?.nextId, 5);
    assert.deepEqual(fs.readdirSync(dir), ["s.json"], "no temp file left");
  });
});
