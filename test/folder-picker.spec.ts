/**
 * The editor's folder picker route (GET /putio-account/<id>/folders?path=…) in a real Node-RED
 * runtime against the emulator: what it suggests, who may ask (Node-RED's own admin auth), hostile
 * input, no token in any answer, and how few put.io requests typing a path costs.
 */
import assert from "node:assert/strict";
import path from "node:path";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { PutioInputError } from "../lib/core/errors";
import { FolderSuggester } from "../nodes/common/folder-suggest";
import { startEmulator, type Emulator } from "./emulator";
import { nr, withTab } from "./nr";
import { accountConfig, useNodeRed } from "./support/node-red-fixture";

const accountNode = require("../nodes/putio-account");
const infoNode = require("../nodes/putio-account-info");

function accountFlow(emu: Emulator, id = "acc") {
  return accountConfig(emu, { id, name: "picker", webUrl: emu.apiUrl });
}

/** put.io requests that read folders (listings and name lookups). */
const folderReads = (emu: Emulator, from = 0) =>
  emu.requests.slice(from).filter((r) => r.path === "/v2/files/list" || /^\/v2\/files\/\d+\/child$/.test(r.path));

/** /Movies with sub-folders in mixed case, a file beside them, and /TV. */
function seed(emu: Emulator): number {
  const movies = emu.state.addFolder(0, "Movies");
  for (const n of ["Shows", "shorts", "Sharp 10", "Sharp 9", "Other"]) emu.state.addFolder(movies.id, n);
  emu.state.addFile(movies.id, "Show.mkv", { size: 1000, seed: 1 });
  emu.state.addFolder(0, "TV");
  return movies.id;
}

describe("folder picker route @nr", function () {
  const rig = useNodeRed();

  const ask = (typed: unknown, id = "acc") =>
    nr
      .request()
      .get(`/putio-account/${id}/folders`)
      .query(typed === undefined ? {} : { path: typed });

  it("suggests the sub-folders of the deepest existing folder whose name starts with the typed segment, any case, sorted, with full paths", async () => {
    seed(rig.emu);
    await nr.load([accountNode], withTab([accountFlow(rig.emu)]), { acc: { accessToken: rig.emu.token } });
    const sh = await ask("/Movies/sh").expect(200);
    assert.equal(sh.body.state, "ok");
    assert.equal(sh.body.folder, "/Movies");
    assert.deepEqual(
      sh.body.folders.map((f: { path: string }) => f.path),
      ["/Movies/Sharp 9", "/Movies/Sharp 10", "/Movies/shorts", "/Movies/Shows"],
      "folders only (not Show.mkv), case-insensitive prefix, natural order",
    );
    assert.equal(sh.body.exists, false);
    assert.equal(typeof sh.body.folders[0].id, "number");
    const root = await ask("").expect(200);
    assert.deepEqual(
      root.body.folders.map((f: { path: string }) => f.path),
      ["/Movies", "/TV"],
    );
    assert.equal(root.body.exists, true);
    const inside = await ask("/Movies/").expect(200);
    assert.equal(inside.body.folders.length, 5);
    assert.equal(inside.body.exists, true);
    // A missing folder: the deepest existing one is /Movies, and the missing name is what is completed there.
    const missing = await ask("/Movies/Oth/Deeper/x").expect(200);
    assert.equal(missing.body.folder, "/Movies");
    assert.deepEqual(
      missing.body.folders.map((f: { name: string }) => f.name),
      ["Other"],
    );
    // No leading slash, wrong case: still the root's Movies.
    const loose = await ask("movies").expect(200);
    assert.deepEqual(
      loose.body.folders.map((f: { path: string }) => f.path),
      ["/Movies"],
    );
    assert.equal(loose.body.exists, false, "movies (lower case) is not the folder Movies");
    assert.equal((await ask("/Movies").expect(200)).body.exists, true);
  });

  it("answers at most 50 suggestions, sorted, and says there are more", async () => {
    const big = rig.emu.state.addFolder(0, "Big");
    for (let i = 60; i > 0; i--) rig.emu.state.addFolder(big.id, `Season ${i}`);
    await nr.load([accountNode], withTab([accountFlow(rig.emu)]), { acc: { accessToken: rig.emu.token } });
    const r = await ask("/Big/season").expect(200);
    assert.equal(r.body.folders.length, 50);
    assert.equal(r.body.truncated, true);
    assert.deepEqual(
      r.body.folders.slice(0, 3).map((f: { name: string }) => f.name),
      ["Season 1", "Season 2", "Season 3"],
    );
    const few = await ask("/Big/Season 6").expect(200);
    assert.deepEqual(
      few.body.folders.map((f: { name: string }) => f.name),
      ["Season 6", "Season 60"],
    );
    assert.equal(few.body.truncated, false);
  });

  it("typing /Movies/Sh key by key costs 2 put.io requests (root, then /Movies), served from the account's cache", async () => {
    const movies = seed(rig.emu);
    await nr.load([accountNode], withTab([accountFlow(rig.emu)]), { acc: { accessToken: rig.emu.token } });
    const before = rig.emu.requests.length;
    const typed = "/Movies/Sh";
    let last: any;
    for (let i = 0; i <= typed.length; i++) last = (await ask(typed.slice(0, i)).expect(200)).body;
    assert.deepEqual(
      last.folders.map((f: { name: string }) => f.name),
      ["Sharp 9", "Sharp 10", "shorts", "Shows"],
    );
    const reads = folderReads(rig.emu, before);
    assert.deepEqual(
      reads.map((r) => `${r.path}?parent_id=${r.query.parent_id}&file_type=${r.query.file_type}`),
      ["/v2/files/list?parent_id=0&file_type=FOLDER", `/v2/files/list?parent_id=${movies}&file_type=FOLDER`],
    );
    for (const r of reads) assert.equal(r.token, rig.emu.token, "the account's own token (its shared client)");
  });

  it("an undeployed or tokenless account, or a refused token, answers a state the editor shows", async () => {
    await nr.load([accountNode], withTab([accountFlow(rig.emu, "acc"), accountFlow(rig.emu, "bare"), accountFlow(rig.emu, "revoked")]), {
      acc: { accessToken: rig.emu.token },
      revoked: { accessToken: "not-a-token" },
    });
    assert.deepEqual((await ask("/", "0123456789abcdef").expect(200)).body, { state: "not-deployed" });
    assert.deepEqual((await ask("/", "bare").expect(200)).body, { state: "no-token" });
    assert.deepEqual((await ask("/", "revoked").expect(200)).body, { state: "unauthorized" });
    assert.equal((await ask("/", "acc").expect(200)).body.state, "ok");
  });

  it("hostile input gets a clear 4xx JSON answer, never a crash, and no token", async () => {
    seed(rig.emu);
    const flow = withTab([accountFlow(rig.emu), { id: "info", type: "putio-account-info", account: "acc", wires: [[], []] }]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
    const bad: Array<[string, unknown, string, number, RegExp]> = [
      ["a .. segment", "/Movies/../etc", "acc", 400, /\.\./],
      ["a .. being typed", "/Movies/..", "acc", 400, /\.\./],
      ["a NUL", "/Movies/a\0b", "acc", 400, /NUL/],
      ["a name over 255 bytes", "/" + "x".repeat(300), "acc", 400, /255/],
      ["a path over 4096 characters", "/a".repeat(2100), "acc", 400, /4096/],
      ["a file used as a folder", "/Movies/Show.mkv/x", "acc", 400, /is a file/],
      ["a path given twice", ["/a", "/b"], "acc", 400, /one text/],
      ["a node that is not an account", "/", "info", 404, /not a put\.io account/],
      ["an id that is no id", "/", "..%2F..", 400, /node id/],
    ];
    for (const [what, typed, id, status, re] of bad) {
      const r = await ask(typed, id);
      assert.equal(r.status, status, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, re, what);
      assert.ok(!JSON.stringify(r.body).includes(rig.emu.token), `${what}: the token is in the answer`);
    }
    // Beyond Node's own header limit the HTTP server refuses it before any route.
    assert.equal((await ask("/a".repeat(50_000))).status, 431);
    // Still serving after all that.
    assert.equal((await ask("/Movies/S").expect(200)).body.folders.length, 4);
    assert.ok(!nr.logText().includes(rig.emu.token), "the token is in the log");
  });

  it("fuzz: any typed text gets 200 or a 4xx JSON answer without the token", async () => {
    seed(rig.emu);
    await nr.load([accountNode], withTab([accountFlow(rig.emu)]), { acc: { accessToken: rig.emu.token } });
    const piece = fc.oneof(fc.constantFrom("Movies", "movies", "Sh", "..", ".", "", "Show.mkv", "\0", "TV", "%", "?", "#"), fc.string({ maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 6 }), fc.boolean(), async (parts, lead) => {
        const typed = (lead ? "/" : "") + parts.join("/");
        const r = await ask(typed);
        assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${JSON.stringify(typed)}: ${r.status}`);
        assert.equal(typeof r.body, "object");
        assert.ok(r.status === 200 ? r.body.state === "ok" : typeof r.body.error === "string", JSON.stringify(r.body));
        assert.ok(!JSON.stringify(r.body).includes(rig.emu.token));
      }),
      { numRuns: 60 },
    );
  });

  describe("permission: Node-RED's admin auth with putio-account.write", () => {
    /** Node-RED's own auth module (of the Node-RED under test), with users that hold a token. */
    function realAuth() {
      const nrDir = path.dirname(require.resolve(process.env.PUTIO_TEST_NODE_RED ?? "node-red"));
      const editorApi = path.dirname(require.resolve("@node-red/editor-api/package.json", { paths: [nrDir] }));
      const auth = require(path.join(editorApi, "lib", "auth"));
      const passport = require(require.resolve("passport", { paths: [editorApi] }));
      const users: Record<string, string | string[]> = { reader: "read", writer: ["read", "putio-account.write"], admin: "*" };
      auth.init(
        {
          adminAuth: {
            type: "credentials",
            users: [],
            tokens: async (token: string) => (users[token] ? { username: token, permissions: users[token] } : null),
          },
        },
        { getSessions: async () => ({}), saveSessions: async () => {} },
      );
      const init = passport.initialize();
      return {
        reset: () => auth.init({}, { getSessions: async () => ({}), saveSessions: async () => {} }),
        // What Node-RED's admin app does: passport's initialize in front of every route.
        needsPermission: (p: string) => {
          const guard = auth.needsPermission(p);
          return (req: any, res: any, next: any) => init(req, res, () => guard(req, res, next));
        },
      };
    }

    it("a reader or an anonymous request is refused (401), a user with putio-account.write or * is served", async () => {
      seed(rig.emu);
      const auth = realAuth();
      try {
        const withAuth = (red: any) => accountNode(Object.assign(Object.create(red), { auth }));
        await nr.load([withAuth], withTab([accountFlow(rig.emu)]), { acc: { accessToken: rig.emu.token } });
        const as = (token?: string) => {
          const req = ask("/Movies/S");
          return token ? req.set("Authorization", `Bearer ${token}`) : req;
        };
        const before = rig.emu.requests.length;
        assert.equal((await as()).status, 401, "anonymous");
        assert.equal((await as("reader")).status, 401, "a read-only user");
        assert.equal((await as("nobody")).status, 401, "an unknown token");
        assert.equal(folderReads(rig.emu, before).length, 0, "a refused request reaches put.io");
        const w = await as("writer");
        assert.equal(w.status, 200);
        assert.equal(w.body.folders.length, 4);
        assert.equal((await as("admin")).status, 200);
      } finally {
        auth.reset();
      }
    });

    it("the route is registered once, guarded by needsPermission('putio-account.write')", () => {
      const RED: any = {};
      const routes: Array<{ method: string; path: string; guard: unknown }> = [];
      const record = (method: string) => (p: string, guard: unknown) => routes.push({ method, path: p, guard });
      RED.httpAdmin = { get: record("get"), post: record("post"), delete: record("delete") };
      RED.auth = { needsPermission: (p: string) => `guard:${p}` };
      const { registerFolderRoutes } = require("../nodes/common/folder-routes");
      registerFolderRoutes(RED);
      registerFolderRoutes(RED);
      assert.deepEqual(routes, [{ method: "get", path: "/putio-account/:id/folders", guard: "guard:putio-account.write" }]);
    });
  });
});

describe("FolderSuggester (against the emulator) @nr", () => {
  let emu: Emulator;
  let client: PutioClient;
  beforeEach(async () => {
    emu = await startEmulator();
    client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl });
  });
  afterEach(async () => {
    await client.close();
    await emu.close();
  });

  it("reuses a listing for ttlMs, then lists again (a folder made meanwhile appears)", async () => {
    seed(emu);
    let now = 1_000;
    const s = new FolderSuggester(client.files, { ttlMs: 5_000, now: () => now });
    const before = emu.requests.length;
    await s.suggest("/Movies/S");
    await s.suggest("/Movies/Sh");
    assert.equal(folderReads(emu, before).length, 2);
    const movies = (await s.suggest("/")).folders.find((f) => f.name === "Movies")!;
    emu.state.addFolder(movies.id, "Shiny");
    now += 4_999;
    assert.ok(!(await s.suggest("/Movies/Sh")).folders.some((f) => f.name === "Shiny"), "within the ttl the cached listing is used");
    assert.equal(folderReads(emu, before).length, 2);
    now += 1;
    assert.ok(
      (await s.suggest("/Movies/Sh")).folders.some((f) => f.name === "Shiny"),
      "after the ttl the folder is listed again",
    );
    assert.equal(folderReads(emu, before).length, 4, "root and /Movies listed again");
  });

  it("a file in the path is an input error, looked up once per ttl", async () => {
    seed(emu);
    const s = new FolderSuggester(client.files, { now: () => 0 });
    for (let i = 0; i < 3; i++) await assert.rejects(s.suggest("/Movies/Show.mkv/"), (e: Error) => e instanceof PutioInputError && /is a file/.test(e.message));
    assert.equal(emu.requests.filter((r) => /\/child$/.test(r.path)).length, 1);
  });

  it("property: every suggestion is a sub-folder of the answered folder whose name starts with the typed segment; none is left out", async () => {
    // A random tree of folders (and a few files), then random typed paths over its names.
    const names = ["Alpha", "alpine", "Beta", "beta 2", "Gamma", "gamma", "Ä", "ä b", "x"];
    const tree = new Map<string, number>([["", 0]]);
    const childrenOf = new Map<string, string[]>([["", []]]);
    let n = 0;
    for (const parent of ["", "/Alpha", "/Alpha/Beta", "/beta 2"]) {
      if (!tree.has(parent)) {
        const up = parent.slice(0, parent.lastIndexOf("/"));
        const name = parent.slice(parent.lastIndexOf("/") + 1);
        tree.set(parent, emu.state.addFolder(tree.get(up)!, name).id);
        childrenOf.get(up)!.push(name);
        childrenOf.set(parent, []);
      }
      for (const name of names) {
        const p = `${parent}/${name}`;
        if (tree.has(p) || n++ % 4 === 3) continue;
        tree.set(p, emu.state.addFolder(tree.get(parent)!, name).id);
        childrenOf.get(parent)!.push(name);
        childrenOf.set(p, []);
      }
      emu.state.addFile(tree.get(parent)!, "file.txt", { size: 1, seed: 1 });
    }
    const s = new FolderSuggester(client.files);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...names, "nope"), { maxLength: 3 }),
        fc.constantFrom(...names.map((x) => x.slice(0, 2)), "", "a", "B"),
        async (dirs, partial) => {
          const typed = "/" + [...dirs, partial].join("/");
          const r = await s.suggest(typed);
          // The model: walk the tree while the folders exist.
          let at = "";
          let prefix = partial;
          for (const d of dirs) {
            if (!tree.has(`${at}/${d}`)) {
              prefix = d;
              break;
            }
            at += `/${d}`;
          }
          assert.equal(r.folder, at || "/");
          const want = childrenOf
            .get(at)!
            .filter((c) => c.toLowerCase().startsWith(prefix.toLowerCase()))
            .map((c) => `${at}/${c}`);
          assert.deepEqual(r.folders.map((f) => f.path).sort(), want.sort());
          for (const f of r.folders) assert.equal(f.id, tree.get(f.path));
        },
      ),
      { numRuns: 80 },
    );
  });
});
