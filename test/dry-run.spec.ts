/**
 * Dry runs of every destructive path of file action and transfer action: the output lists exactly
 * what would change, and put.io's state and request log show that nothing was changed.
 */
import assert from "node:assert/strict";
import { type Emulator } from "./emulator";
import { catchAll, nr, type FlowNode } from "./nr";
import { outcomeOf, useNodeRed } from "./support/node-red-fixture";

const fileActionNode = require("../nodes/putio-file-action");
const transferActionNode = require("../nodes/putio-transfer-action");

/** Requests that change something on put.io. */
const changing = (emu: Emulator) => emu.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");

describe("dry runs @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed();

  const account = (): FlowNode => rig.account({ name: "dry account" });
  async function load(node: Record<string, unknown>): Promise<void> {
    await rig.load(
      [fileActionNode, transferActionNode],
      [
        account(),
        { id: "n", account: "acc", wires: [["out"]], ...node } as unknown as FlowNode,
        catchAll("c", "caught"),
        { id: "out", type: "helper" },
        { id: "caught", type: "helper" },
      ],
    );
  }
  const outcome = (msg: object): Promise<any> => outcomeOf("n", msg);
  const fileAction = (cfg: object = {}) => ({
    type: "putio-file-action",
    action: "msg",
    ids: "",
    target: "target",
    targetType: "msg",
    newName: "name",
    newNameType: "msg",
    skipTrash: false,
    dryRun: false,
    ...cfg,
  });

  describe("file action", () => {
    function tree() {
      const movies = rig.emu.state.addFolder(0, "Movies");
      const y2026 = rig.emu.state.addFolder(movies.id, "2026");
      const film = rig.emu.state.addFile(y2026.id, "Film.mkv", Buffer.alloc(1000, 1));
      const nfo = rig.emu.state.addFile(y2026.id, "Film.nfo", Buffer.from("nfo"));
      const top = rig.emu.state.addFile(0, "top.txt", Buffer.from("t"));
      return { movies, y2026, film, nfo, top };
    }

    it("delete (node option): lists ids, names and paths, and deletes nothing", async () => {
      const { y2026, film, top } = tree();
      await load(fileAction({ action: "delete", dryRun: true, skipTrash: true }));
      const before = changing(rig.emu).length;
      const msg = await outcome({ payload: [film.id, { id: top.id, name: "top.txt" }, y2026.id, 2147483600] });
      assert.ok(!msg.caught, msg.caught?.error?.message);
      assert.equal(msg.dryRun, true);
      assert.equal(msg.payload.dryRun, true);
      assert.equal(msg.payload.action, "delete");
      assert.equal(msg.payload.trash, false);
      assert.deepEqual(
        msg.payload.wouldDelete.map((f: any) => [f.id, f.name, f.path, f.file_type]),
        [
          [film.id, "Film.mkv", "/Movies/2026/Film.mkv", film.file_type],
          [top.id, "top.txt", "/top.txt", top.file_type],
          [y2026.id, "2026", "/Movies/2026", "FOLDER"],
        ],
      );
      assert.deepEqual(msg.payload.missing, [2147483600]);
      assert.equal(changing(rig.emu).length, before, "no request that changes put.io");
      assert.ok(!rig.emu.requests.some((r) => r.path === "/v2/files/delete"));
      for (const id of [film.id, top.id, y2026.id]) assert.ok(rig.emu.state.getFile(id), `file ${id} is still there`);
      assert.equal(rig.emu.state.trashed().length, 0);
    });

    it("delete (msg.dryRun === true per msg): the next msg without it really deletes; msg.dryRun false does not lift the node option", async () => {
      const { film, nfo } = tree();
      await load(fileAction({ action: "delete" }));
      let msg = await outcome({ payload: film.id, dryRun: true });
      assert.deepEqual(
        msg.payload.wouldDelete.map((f: any) => f.path),
        ["/Movies/2026/Film.mkv"],
      );
      assert.ok(rig.emu.state.getFile(film.id));
      for (const dryRun of ["true", 1, "yes"]) {
        // Only the boolean true asks for a dry run: anything else is a normal msg. Check on an unknown id.
        msg = await outcome({ payload: 2147483600, dryRun });
        assert.match(msg.caught.error.message, /did not exist/);
      }
      msg = await outcome({ payload: nfo.id });
      assert.deepEqual(msg.payload, { deleted: [nfo.id], trash: true });
      assert.equal(msg.dryRun, undefined);
      assert.equal(rig.emu.state.getFile(nfo.id), undefined);

      await nr.helper.unload();
      await load(fileAction({ action: "delete", dryRun: true }));
      const before = changing(rig.emu).length;
      msg = await outcome({ payload: film.id, dryRun: false });
      assert.equal(msg.dryRun, true);
      assert.equal(changing(rig.emu).length, before);
      assert.ok(rig.emu.state.getFile(film.id));
    });

    it("trash: empty, delete for good and restore list the trash items and change nothing", async () => {
      const { film, nfo, top } = tree();
      await load(fileAction());
      for (const f of [film, nfo]) await outcome({ action: "delete", payload: f.id });
      assert.equal(rig.emu.state.trashed().length, 2);
      const before = changing(rig.emu).length;
      let msg = await outcome({ action: "empty", dryRun: true });
      assert.deepEqual(msg.payload.wouldDeleteForGood.map((t: any) => t.id).sort(), [film.id, nfo.id].sort());
      assert.ok(msg.payload.wouldDeleteForGood.every((t: any) => typeof t.name === "string"));
      msg = await outcome({ action: "trash-delete", payload: [film.id, top.id], dryRun: true });
      assert.deepEqual(
        msg.payload.wouldDeleteForGood.map((t: any) => [t.id, t.name]),
        [[film.id, "Film.mkv"]],
      );
      assert.deepEqual(msg.payload.missing, [top.id], "a file not in the trash");
      msg = await outcome({ action: "restore", payload: nfo.id, dryRun: true });
      assert.deepEqual(
        msg.payload.wouldRestore.map((t: any) => t.id),
        [nfo.id],
      );
      assert.equal(changing(rig.emu).length, before);
      assert.equal(rig.emu.state.trashed().length, 2);
      // The trash list itself is not a change: answered as usual.
      msg = await outcome({ action: "trash-list", dryRun: true });
      assert.equal(msg.payload.length, 2);
    });

    it("move, rename and create folder: the plan, without creating the destination", async () => {
      const { movies, film, top } = tree();
      await load(fileAction({ dryRun: true }));
      const before = changing(rig.emu).length;
      let msg = await outcome({ action: "move", payload: [top.id], target: "/Archive/Old" });
      assert.deepEqual(
        msg.payload.wouldMove.map((f: any) => f.path),
        ["/top.txt"],
      );
      assert.equal(msg.payload.toId, null);
      assert.equal(msg.payload.toCreated, true);
      msg = await outcome({ action: "move", payload: film.id, target: "/Movies", name: "Renamed.mkv" });
      assert.equal(msg.payload.toId, movies.id);
      assert.equal(msg.payload.newName, "Renamed.mkv");
      msg = await outcome({ action: "rename", payload: film.id, name: "New.mkv" });
      assert.deepEqual([msg.payload.wouldRename[0].path, msg.payload.newName], ["/Movies/2026/Film.mkv", "New.mkv"]);
      msg = await outcome({ action: "mkdir", target: "/Archive/Old" });
      assert.deepEqual([msg.payload.wouldCreate, msg.payload.id], ["/Archive/Old", null]);
      msg = await outcome({ action: "mkdir", target: "/Movies/2026" });
      assert.equal(msg.payload.wouldCreate, null);
      assert.equal(typeof msg.payload.id, "number");
      assert.equal(changing(rig.emu).length, before);
      assert.ok(!rig.emu.state.listChildren(0).some((f) => f.name === "Archive"));
      assert.equal(rig.emu.state.getFile(film.id)?.name, "Film.mkv");
      assert.equal(rig.emu.state.getFile(top.id)?.parent_id, 0);
    });

    it("the guards still apply in a dry run: id 0 and an empty payload are errors", async () => {
      await load(fileAction({ action: "delete", dryRun: true }));
      let r = await outcome({ payload: 0 });
      assert.match(r.caught.error.message, /root folder/);
      r = await outcome({});
      assert.match(r.caught.error.message, /no file ids/);
    });
  });

  describe("transfer action", () => {
    const transferAction = (cfg: object = {}) => ({ type: "putio-transfer-action", action: "msg", transferIds: "", cleanScope: "all", dryRun: false, ...cfg });
    function transfers() {
      const statuses = ["COMPLETED", "ERROR", "SEEDING", "DOWNLOADING", "IN_QUEUE", "COMPLETED"];
      return statuses.map((status, i) => rig.emu.state.addTransfer({ url: `http://example.com/t${i}.iso`, status }));
    }

    it("clean (all): lists exactly the transfers the real clean then removes, and removes nothing itself", async () => {
      const all = transfers();
      await load(transferAction({ action: "clean" }));
      const before = changing(rig.emu).length;
      const dry = await outcome({ payload: Date.now(), dryRun: true });
      assert.ok(!dry.caught, dry.caught?.error?.message);
      assert.equal(dry.dryRun, true);
      const would = dry.payload.wouldClean.map((t: any) => t.id).sort();
      assert.deepEqual(would, [all[0].id, all[1].id, all[5].id].sort());
      assert.ok(dry.payload.wouldClean.every((t: any) => typeof t.status === "string" && "name" in t));
      assert.equal(changing(rig.emu).length, before, "no request that changes put.io");
      assert.ok(!rig.emu.requests.some((r) => r.path === "/v2/transfers/clean"));
      assert.equal(rig.emu.state.transfers().length, all.length);
      // The real clean agrees with the dry run.
      const real = await outcome({ payload: Date.now() });
      assert.deepEqual([...real.payload.deleted_ids].sort(), would);
    });

    it("clean (only the given ids): the finished ones would be cleaned, the others are listed as not finished; an unknown id is still an error", async () => {
      const all = transfers();
      await load(transferAction({ action: "clean", cleanScope: "payload", dryRun: true }));
      const before = changing(rig.emu).length;
      const dry = await outcome({ payload: [all[0].id, all[2].id, all[3].id] });
      assert.deepEqual(
        dry.payload.wouldClean.map((t: any) => t.id),
        [all[0].id],
      );
      assert.deepEqual(
        dry.payload.notFinished.map((t: any) => [t.id, t.status]).sort(),
        [
          [all[2].id, "SEEDING"],
          [all[3].id, "DOWNLOADING"],
        ].sort(),
      );
      const unknown = await outcome({ payload: [all[0].id, 2147483600] });
      assert.match(unknown.caught.error.message, /no transfer with id 2147483600/);
      assert.equal(changing(rig.emu).length, before);
      assert.equal(rig.emu.state.transfers().length, all.length);
    });

    it("remove, cancel and retry: list the transfers, change nothing", async () => {
      const all = transfers();
      await load(transferAction({ dryRun: true }));
      const before = changing(rig.emu).length;
      let msg = await outcome({ action: "remove", payload: [all[3].id, all[4].id] });
      assert.deepEqual(
        msg.payload.wouldRemove.map((t: any) => [t.id, t.status]),
        [
          [all[3].id, "DOWNLOADING"],
          [all[4].id, "IN_QUEUE"],
        ],
      );
      msg = await outcome({ action: "cancel", payload: all[3].id });
      assert.deepEqual(
        msg.payload.wouldCancel.map((t: any) => t.id),
        [all[3].id],
      );
      msg = await outcome({ action: "retry", payload: all[1].id });
      assert.deepEqual(
        msg.payload.wouldRetry.map((t: any) => [t.id, t.status]),
        [[all[1].id, "ERROR"]],
      );
      assert.equal(changing(rig.emu).length, before);
      assert.ok(!rig.emu.requests.some((r) => /\/v2\/transfers\/(remove|cancel|retry|clean)$/.test(r.path)));
      assert.deepEqual(
        rig.emu.state.transfers().map((t) => t.status),
        ["COMPLETED", "ERROR", "SEEDING", "DOWNLOADING", "IN_QUEUE", "COMPLETED"],
      );
      // Without the option, msg.dryRun asks for it per msg on another node.
      await nr.helper.unload();
      await load(transferAction());
      msg = await outcome({ action: "remove", payload: all[4].id, dryRun: true });
      assert.equal(msg.dryRun, true);
      assert.ok(rig.emu.state.getTransfer(all[4].id));
      msg = await outcome({ action: "remove", payload: all[4].id });
      assert.deepEqual(msg.payload, { removed: [all[4].id] });
      assert.equal(rig.emu.state.getTransfer(all[4].id), undefined);
    });
  });
});
