/** lib/transfer-watch without Node-RED: what socket pushes cost, and what reaches subscribers. */
import assert from "node:assert/strict";
import { PutioClient } from "../lib/client";
import { PutioSocket } from "../lib/core/socket";
import { TransferWatcher, type TransferChange } from "../lib/watch/watcher";
import { startEmulator, type Emulator } from "./emulator";

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe("TransferWatcher", function () {
  this.timeout(20_000);
  let emu: Emulator;
  let client: PutioClient;
  let socket: PutioSocket;
  let watcher: TransferWatcher;
  const changes: TransferChange[] = [];
  const gets = (id: number) => emu.requests.filter((r) => r.path === `/v2/transfers/${id}`).length;

  beforeEach(async () => {
    changes.length = 0;
    emu = await startEmulator();
    client = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token });
    socket = new PutioSocket({ url: emu.socketUrl, token: () => emu.token });
    watcher = new TransferWatcher({ client, socket });
    watcher.subscribe(
      (c) => void changes.push(c),
      (status) => status === "COMPLETED",
    );
    watcher.start();
    await until(() => emu.socketCount() === 1 && emu.requests.some((r) => r.path === "/v2/transfers/list"));
    await watcher.reconcile();
  });
  afterEach(async () => {
    watcher.stop();
    socket.stop();
    await client.close();
    await emu.close();
  });

  it("a push whose status no subscriber wants costs no request; a wanted one is re-read before it is passed on", async () => {
    const t = emu.state.addTransfer({ url: "http://example.com/a.iso" });
    emu.pushSocketEvent(emu.token, "transfer_update", { id: t.id, status: "DOWNLOADING" });
    // A wanted status in the push is only a hint: the API still says IN_QUEUE, and that is what is passed on.
    emu.pushSocketEvent(emu.token, "transfer_update", { id: t.id, status: "COMPLETED" });
    await until(() => changes.some((c) => c.source === "socket"));
    await new Promise((r) => setTimeout(r, 200)); // room for a wrongly folded second read to show up
    assert.equal(gets(t.id), 1);
    assert.equal(changes.find((c) => c.source === "socket")!.transfer.status, "IN_QUEUE");
  });

  it("hints for one transfer while it is being read fold into one more read", async () => {
    const t = emu.state.addTransfer({ url: "http://example.com/b.iso" });
    emu.knobs.latencyMs = 100;
    await Promise.all([1, 2, 3, 4, 5].map(() => watcher.hint(t.id, "socket")));
    assert.equal(gets(t.id), 2);
  });

  it("file and path of a change: one read of the file, shared; a folder resolved by path costs no lookup, also after a delete through the client", async () => {
    const incoming = emu.state.addFolder(0, "Incoming");
    const inner = emu.state.addFolder(incoming.id, "Inner");
    assert.equal(await client.paths.resolve("/Incoming"), incoming.id);
    const pathOf = async (parentId: number, name: string) => {
      const done = emu.state.addTransfer({ url: `http://example.com/${name}`, status: "COMPLETED", saveParentId: parentId });
      await watcher.reconcile();
      const change = changes.find((c) => c.transfer.id === done.id)!;
      const fileId = change.transfer.file_id!;
      const before = emu.requests.length;
      const [file, p] = await Promise.all([change.file(), change.path()]);
      assert.equal(file!.id, fileId);
      // The socket's pushes about the new transfer may re-read it meanwhile: only file reads count here.
      return {
        p,
        requests: emu.requests
          .slice(before)
          .filter((r) => r.path.startsWith("/v2/files"))
          .map((r) => `${r.method} ${r.path}`),
      };
    };
    const first = await pathOf(incoming.id, "one.iso");
    assert.match(first.p!, /^\/Incoming\//);
    assert.equal(first.requests.length, 1, `only the file itself: ${first.requests}`);
    // A delete through the client (the download node's after a job) does not cost the path either.
    await client.files.delete([emu.state.addFile(incoming.id, "gone.txt", Buffer.from("x")).id]);
    const second = await pathOf(incoming.id, "two.iso");
    assert.equal(second.requests.length, 1, `still only the file: ${second.requests}`);
    // A folder nobody resolved by path is looked up (once).
    const third = await pathOf(inner.id, "three.iso");
    assert.match(third.p!, /^\/Incoming\/Inner\//);
    assert.deepEqual(third.requests.slice(1), [`GET /v2/files/${inner.id}`]);
  });

  it("a reconcile passes on every listed transfer, and a callback for an unknown id reconciles", async () => {
    const a = emu.state.addTransfer({ url: "http://example.com/c.iso", status: "COMPLETED" });
    const lists = emu.requests.filter((r) => r.path === "/v2/transfers/list").length;
    await watcher.hint(2147483000, "callback");
    await until(() => emu.requests.filter((r) => r.path === "/v2/transfers/list").length > lists);
    await until(() => changes.some((c) => c.transfer.id === a.id && c.source === "reconcile"));
  });
});
