/** The putio-account config node in a real Node-RED runtime, against the emulator. */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { Emulator } from "./emulator";
import { catchAll, nextMessage, nr, statusMatching, withTab } from "./nr";
import { accountConfig, useNodeRed } from "./support/node-red-fixture";

const accountNode = require("../nodes/putio-account");
const infoNode = require("../nodes/putio-account-info");

function accountFlow(emu: Emulator, id = "acc", extra: object = {}) {
  return accountConfig(emu, { id, name: `account ${id}`, webUrl: emu.apiUrl, ...extra });
}

describe("putio-account config node @nr", function () {
  const rig = useNodeRed();

  it("validates the token once at deploy and serves calls to its users", async () => {
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
      { id: "out", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
    const got = nextMessage("out");
    nr.node("info").receive({ payload: "go" });
    const msg = await got;
    assert.equal(typeof msg.payload.username, "string");
    assert.ok(msg.payload.disk.avail > 0);
    assert.equal(rig.emu.requests.filter((r) => r.path === "/v2/account/info").length, 2, "one validation + one read");
    assert.equal((nr.node("acc") as any).state, "ready");
  });

  it("account info: put.io's warnings go to output 3 once per change (a failing callback URL, then fixed); the history has the event", async () => {
    const user = rig.emu.state.users.get(rig.emu.state.defaultUserId)!;
    user.settings.callback_url = "http://127.0.0.1:1/unreachable";
    rig.emu.state.addTransfer({ url: "https://example.com/files/a.mkv" });
    await rig.emu.advance(10_000);
    assert.equal(user.warnings.callback_url_has_failed, true);
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], [], ["warn"]] },
      { id: "out", type: "helper" },
      { id: "warn", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
    const warnings: any[] = [];
    nr.node("warn").on("input", (m: any) => warnings.push(m));
    const read = async () => {
      const got = nextMessage("out");
      nr.node("info").receive({ payload: "go" });
      return got;
    };
    await read();
    await read();
    assert.equal(warnings.length, 1, "sent once, not on every read");
    assert.deepEqual(warnings[0].payload, { warnings: ["callback_url_has_failed"], added: ["callback_url_has_failed"], cleared: [] });
    // Fixed (a new callback URL clears it on put.io): said once more.
    const r = await fetch(`${rig.emu.apiUrl}/v2/account/settings`, {
      method: "POST",
      headers: { Authorization: `token ${rig.emu.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ callback_url: "https://example.com/hook" }),
    });
    assert.equal(r.status, 200);
    await read();
    await read();
    assert.equal(warnings.length, 2);
    assert.deepEqual(warnings[1].payload, { warnings: [], added: [], cleared: ["callback_url_has_failed"] });
    // put.io records the failed callback in the history, as the events node can route it.
    const events = await fetch(`${rig.emu.apiUrl}/v2/events/list`, { headers: { Authorization: `token ${rig.emu.token}` } }).then((x) => x.json());
    assert.ok(events.events.some((e: any) => e.type === "transfer_callback_error" && /unreachable|ECONNREFUSED|fetch failed/i.test(e.message ?? "")));
  });

  describe("the state of the account on every node that uses it", () => {
    /** A TCP relay to the emulator that can drop every connection: put.io "going away" and coming back. */
    async function relay(port: number): Promise<{ url: string; down: boolean; close(): Promise<void> }> {
      const sockets = new Set<net.Socket>();
      const state = { down: false };
      const server = net.createServer((client) => {
        if (state.down) return client.destroy();
        const upstream = net.connect(port, "127.0.0.1");
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", end).on("close", end);
        upstream.on("error", end).on("close", end);
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      return {
        url,
        get down() {
          return state.down;
        },
        set down(v: boolean) {
          state.down = v;
          if (v) for (const s of sockets) s.destroy();
        },
        close: () => new Promise<void>((r) => server.close(() => r())),
      };
    }

    it("shows connected from the start, and no token / unauthorized / no account in red, without any msg", async () => {
      const flow = withTab([
        accountFlow(rig.emu, "good"),
        accountFlow(rig.emu, "empty"),
        accountFlow(rig.emu, "bad"),
        { id: "i1", type: "putio-account-info", account: "good", wires: [[], []] },
        { id: "i2", type: "putio-account-info", account: "empty", wires: [[], []] },
        { id: "i3", type: "putio-account-info", account: "bad", wires: [[], []] },
        { id: "i4", type: "putio-account-info", account: "", wires: [[], []] },
      ]);
      await nr.load([accountNode, infoNode], flow, { good: { accessToken: rig.emu.token }, bad: { accessToken: "WRONGTOKEN0000000000" } });
      await statusMatching("i1", (s) => s.fill === "green" && s.text === "connected");
      await statusMatching("i2", (s) => s.fill === "red" && s.text === "no token: connect the account");
      await statusMatching("i3", (s) => s.fill === "red" && s.text === "unauthorized: reconnect the account");
      await statusMatching("i4", (s) => s.fill === "red" && s.text === "no put.io account configured");
    });

    it("put.io unreachable turns every node yellow; when put.io answers again they show connected without a redeploy", async () => {
      const r = await relay(Number(new URL(rig.emu.apiUrl).port));
      try {
        r.down = true;
        const flow = withTab([
          accountFlow(rig.emu, "acc", { apiUrl: r.url }),
          { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
          { id: "other", type: "putio-account-info", account: "acc", wires: [[], []] },
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
        ]);
        await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
        await statusMatching("other", (s) => s.fill === "yellow" && /put\.io unreachable/.test(s.text));
        assert.equal((nr.node("acc") as any).state, "unreachable");
        r.down = false;
        const got = nextMessage("out");
        nr.node("info").receive({ payload: "go" });
        await got;
        assert.equal((nr.node("acc") as any).state, "ready");
        // The node that got no msg follows the account.
        await statusMatching("other", (s) => s.fill === "green" && s.text === "connected");
        // And back down: a failed call says so on every node.
        r.down = true;
        const caught = nextMessage("caught");
        nr.node("info").receive({ payload: "again" });
        await caught;
        assert.equal((nr.node("acc") as any).state, "unreachable");
      } finally {
        await r.close();
      }
    });

    it("speaks the runtime's language: German status and errors, put.io's own words kept", async () => {
      await nr.language("de");
      try {
        const flow = withTab([
          accountFlow(rig.emu),
          accountFlow(rig.emu, "empty"),
          { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
          { id: "none", type: "putio-account-info", account: "empty", wires: [[], []] },
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
        ]);
        await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
        await statusMatching("info", (s) => s.fill === "green" && s.text === "verbunden");
        await statusMatching("none", (s) => s.fill === "red" && s.text === "kein Token: Konto verbinden");
        const got = nextMessage("out");
        nr.node("info").receive({ payload: "go" });
        await got;
        await statusMatching("info", (s) => / GB frei$/.test(s.text));
        const caught = nextMessage("caught");
        nr.node("none").receive({ payload: "go" });
        const err = await caught;
        // lib's frame and advice, the node's attempted phrase and the account's reason, all in German.
        assert.match(err.error.message, /^put\.io: das put\.io-Konto verwenden ist fehlgeschlagen: der Konto-Node hat kein Zugriffstoken/);
        assert.match(err.error.message, /Verbinden Sie das put\.io-Konto neu\./);
        assert.equal(err.error.code, "api.failed");
        assert.doesNotMatch(err.error.message, /^Putio\w*Error/);
      } finally {
        await nr.language("en-US");
      }
    });
  });

  it("a bad token: users turn red with 'unauthorized: reconnect the account', inputs fail catchably, no 401 loop", async () => {
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
      catchAll("c", "caught"),
      { id: "out", type: "helper" },
      { id: "caught", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: "WRONGTOKEN0000000000" } });
    await statusMatching("info", (s) => s.fill === "red" && /unauthorized: reconnect the account/.test(s.text));
    const caught = nextMessage("caught");
    nr.node("info").receive({ payload: "go" });
    const err = await caught;
    assert.match(err.error.message, /401|refused|token/i);
    assert.ok(!JSON.stringify(err).includes("WRONGTOKEN0000000000"));
    // One validation only: the input failed from the known state without calling put.io again.
    assert.equal(rig.emu.requests.filter((r) => r.status === 401).length, 1);
  });

  it("a token revoked after deploy turns users red on the first 401", async () => {
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
      catchAll("c", "caught"),
      { id: "out", type: "helper" },
      { id: "caught", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
    await (nr.node("acc") as any).ready();
    rig.emu.revokeToken(rig.emu.token);
    const caught = nextMessage("caught");
    nr.node("info").receive({ payload: "go" });
    await caught;
    await statusMatching("info", (s) => s.fill === "red" && /unauthorized/.test(s.text));
    assert.equal((nr.node("acc") as any).state, "unauthorized");
  });

  it("a missing token is reported at deploy and inputs fail with a clear error", async () => {
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
      catchAll("c", "caught"),
      { id: "caught", type: "helper" },
      { id: "out", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, {});
    await statusMatching("info", (s) => s.fill === "red" && /no token/.test(s.text));
    const caught = nextMessage("caught");
    nr.node("info").receive({ payload: 1 });
    const err = await caught;
    assert.match(err.error.message, /no access token/);
    assert.equal(rig.emu.requests.length, 0);
  });

  it("a node without an account fails each input with a clear error", async () => {
    const flow = withTab([{ id: "info", type: "putio-account-info", account: "", wires: [[], []] }, catchAll("c", "caught"), { id: "caught", type: "helper" }]);
    await nr.load([accountNode, infoNode], flow);
    const caught = nextMessage("caught");
    nr.node("info").receive({ payload: 1 });
    assert.match((await caught).error.message, /No put\.io account is configured/);
  });

  it("two accounts in one flow work side by side", async () => {
    const second = rig.emu.addUser({ username: "second" });
    const flow = withTab([
      accountFlow(rig.emu, "a1"),
      accountFlow(rig.emu, "a2"),
      { id: "i1", type: "putio-account-info", account: "a1", wires: [["o1"], []] },
      { id: "i2", type: "putio-account-info", account: "a2", wires: [["o2"], []] },
      { id: "o1", type: "helper" },
      { id: "o2", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { a1: { accessToken: rig.emu.token }, a2: { accessToken: second.token } });
    const m1 = nextMessage("o1");
    const m2 = nextMessage("o2");
    nr.node("i1").receive({});
    nr.node("i2").receive({});
    const [r1, r2] = await Promise.all([m1, m2]);
    assert.equal(r2.payload.username, "second");
    assert.notEqual(r1.payload.username, "second");
  });

  it("close aborts in-flight calls and the input ends with an error, within the close", async () => {
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
      { id: "out", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
    await (nr.node("acc") as any).ready();
    rig.emu.knobs.latencyMs = 60_000;
    const info: any = nr.node("info");
    const errors: unknown[] = [];
    info.error = (e: unknown) => errors.push(e); // done(err) ends in node.error(err, msg)
    nr.node("info").receive({});
    await new Promise((r) => setTimeout(r, 100)); // let the call get in flight (the emulator holds it 60 s)
    await nr.helper.unload(); // closes every node, like a redeploy
    for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1, "the in-flight input should end with exactly one error");
    assert.match(String((errors[0] as Error).message), /aborted/);
  });

  describe("login admin endpoints", () => {
    const flow = (emu: Emulator) => withTab([accountFlow(emu, "acc", { clientId: "1234" })]);

    it("start → pending → approved stores the token as the node's credential", async () => {
      await nr.load([accountNode], flow(rig.emu), {});
      const start = await nr
        .request()
        .post("/putio-account/login")
        .send({ nodeId: "acc", clientId: "1234", apiUrl: rig.emu.apiUrl, webUrl: rig.emu.apiUrl })
        .expect(200);
      assert.match(start.body.code, /\S+/);
      assert.ok(start.body.linkUrl.startsWith(rig.emu.apiUrl + "/link?code="));
      const pending = await nr.request().get(`/putio-account/login/${start.body.session}`).expect(200);
      assert.equal(pending.body.state, "pending");
      rig.emu.approveDeviceCode(start.body.code);
      const approved = await nr.request().get(`/putio-account/login/${start.body.session}`).expect(200);
      assert.equal(approved.body.state, "approved");
      assert.equal(typeof approved.body.username, "string");
      assert.ok(!JSON.stringify(approved.body).includes(rig.emu.token));
      const creds = nr.helper.credentials ? await nr.helper.credentials.get("acc") : null;
      const stored = creds ?? (require("@node-red/runtime/lib/nodes/credentials") as any).get("acc");
      assert.equal(typeof stored.accessToken, "string");
      assert.ok(stored.accessToken.length > 0);
      // The session is single-use.
      const again = await nr.request().get(`/putio-account/login/${start.body.session}`).expect(200);
      assert.equal(again.body.state, "expired");
    });

    it("cancel ends the session; an expired code (404) says to start over", async () => {
      await nr.load([accountNode], flow(rig.emu), {});
      const a = await nr.request().post("/putio-account/login").send({ nodeId: "acc", clientId: "1234", apiUrl: rig.emu.apiUrl }).expect(200);
      await nr.request().delete(`/putio-account/login/${a.body.session}`).expect(200);
      assert.equal((await nr.request().get(`/putio-account/login/${a.body.session}`)).body.state, "expired");
      const b = await nr.request().post("/putio-account/login").send({ nodeId: "acc", clientId: "1234", apiUrl: rig.emu.apiUrl }).expect(200);
      rig.emu.expireDeviceCode(b.body.code);
      const r = await nr.request().get(`/putio-account/login/${b.body.session}`).expect(200);
      assert.equal(r.body.state, "expired");
    });

    it("asks for the OAuth app id when it is missing", async () => {
      await nr.load([accountNode], flow(rig.emu), {});
      const r = await nr.request().post("/putio-account/login").send({ nodeId: "acc", apiUrl: rig.emu.apiUrl }).expect(400);
      assert.match(r.body.error, /OAuth app id/);
    });

    it("check: names the account of a pasted token or of the stored one, says when put.io refuses it, never returns the token", async () => {
      await nr.load([accountNode], flow(rig.emu), { acc: { accessToken: rig.emu.token } });
      const stored = await nr.request().post("/putio-account/check").send({ nodeId: "acc", token: "__PWRD__", apiUrl: rig.emu.apiUrl }).expect(200);
      assert.equal(stored.body.state, "ok");
      assert.equal(typeof stored.body.username, "string");
      assert.ok(stored.body.disk.size > 0);
      const pasted = await nr.request().post("/putio-account/check").send({ nodeId: "acc", token: rig.emu.token, apiUrl: rig.emu.apiUrl }).expect(200);
      assert.equal(pasted.body.username, stored.body.username);
      const bad = await nr.request().post("/putio-account/check").send({ nodeId: "acc", token: "not-a-token", apiUrl: rig.emu.apiUrl }).expect(200);
      assert.equal(bad.body.state, "refused");
      const none = await nr.request().post("/putio-account/check").send({ nodeId: "no-such-node", apiUrl: rig.emu.apiUrl }).expect(200);
      assert.equal(none.body.state, "no-token");
      for (const r of [stored, pasted, bad, none]) assert.ok(!JSON.stringify(r.body).includes(rig.emu.token), "no token in the answer");
      await nr.request().post("/putio-account/check").send({ nodeId: "../x", apiUrl: rig.emu.apiUrl }).expect(400);
    });

    it("check: the stored token goes only to the deployed API URL; a request's URL only with the request's token, never env-expanded", async () => {
      // Another host, as a user with the write permission might name: it records what reaches it.
      const seen: Array<{ url: string; auth: string }> = [];
      const elsewhere = http.createServer((req, res) => {
        seen.push({ url: String(req.url), auth: String(req.headers.authorization ?? "") });
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error_type: "invalid_grant", status_code: 401 }));
      });
      await new Promise<void>((r) => elsewhere.listen(0, "127.0.0.1", r));
      const other = `http://127.0.0.1:${(elsewhere.address() as net.AddressInfo).port}`;
      process.env.PUTIO_TEST_SECRET = "s3cr3t-from-env";
      try {
        let RED: any;
        const captureRed = (red: unknown) => void (RED = red);
        await nr.load([captureRed, accountNode], withTab([accountFlow(rig.emu, "acc"), { ...accountFlow(rig.emu, "fresh"), apiUrl: rig.emu.apiUrl }]), {
          acc: { accessToken: rig.emu.token },
        });
        // Stored token, a request naming another host (and an env var): put.io at the deployed URL answers.
        const stored = await nr
          .request()
          .post("/putio-account/check")
          .send({ nodeId: "acc", token: "", apiUrl: `${other}/\${PUTIO_TEST_SECRET}` })
          .expect(200);
        assert.equal(stored.body.state, "ok");
        assert.equal(seen.length, 0, "the stored token went to the host the request named");
        // Stored by a login, never deployed: nowhere to send it.
        RED.nodes.addCredentials("undeployed", { accessToken: rig.emu.token });
        const undeployed = await nr.request().post("/putio-account/check").send({ nodeId: "undeployed", apiUrl: other }).expect(200);
        assert.equal(undeployed.body.state, "not-deployed");
        assert.equal(seen.length, 0);
        // A pasted token may go where the request says, as written: no ${VAR} read from the runtime.
        const pasted = await nr
          .request()
          .post("/putio-account/check")
          .send({ nodeId: "acc", token: "pasted-token", apiUrl: `${other}/x` })
          .expect(200);
        assert.equal(pasted.body.state, "refused");
        assert.ok(seen.length > 0);
        assert.ok(
          seen.every((r) => r.auth === "token pasted-token"),
          "only the pasted token reaches the request's host",
        );
        seen.splice(0);
        const named = await nr
          .request()
          .post("/putio-account/check")
          .send({ nodeId: "fresh", token: rig.emu.token, apiUrl: `${other}/\${PUTIO_TEST_SECRET}` })
          .expect(200);
        assert.equal(named.body.state, "ok", "a URL naming env vars is checked at the deployed URL");
        assert.equal(seen.length, 0);
        assert.ok(!rig.emu.requests.some((r) => JSON.stringify(r).includes("s3cr3t-from-env")));
      } finally {
        delete process.env.PUTIO_TEST_SECRET;
        await new Promise((r) => elsewhere.close(r));
      }
    });

    it("login: a field naming environment variables stands for the deployed account's value, never read from the runtime's environment for the request", async () => {
      const seen: string[] = [];
      const elsewhere = http.createServer((req, res) => {
        seen.push(String(req.url));
        res.writeHead(500).end();
      });
      await new Promise<void>((r) => elsewhere.listen(0, "127.0.0.1", r));
      const other = `http://127.0.0.1:${(elsewhere.address() as net.AddressInfo).port}`;
      process.env.PUTIO_TEST_SECRET = "s3cr3t-from-env";
      process.env.PUTIO_TEST_CLIENT = "4321";
      try {
        await nr.load([accountNode], withTab([accountFlow(rig.emu, "acc", { clientId: "${PUTIO_TEST_CLIENT}" })]), {});
        // Not deployed: nothing to stand for; nothing is sent anywhere.
        const undeployed = await nr
          .request()
          .post("/putio-account/login")
          .send({ nodeId: "new-node", clientId: "${PUTIO_TEST_SECRET}", apiUrl: other })
          .expect(400);
        assert.match(undeployed.body.error, /Deploy it first/);
        // Deployed: the request's ${…} means the deployed value (4321 at the emulator), whatever it names.
        const start = await nr
          .request()
          .post("/putio-account/login")
          .send({ nodeId: "acc", clientId: "${PUTIO_TEST_SECRET}", apiUrl: `${other}/\${PUTIO_TEST_SECRET}`, webUrl: rig.emu.apiUrl })
          .expect(200);
        assert.match(start.body.code, /\S+/);
        assert.equal(seen.length, 0, "the request's host got nothing");
        assert.ok(!JSON.stringify(rig.emu.requests).includes("s3cr3t-from-env"), "the environment's value went nowhere");
        assert.ok(rig.emu.requests.some((r) => r.path.startsWith("/v2/oauth2/oob/code") && JSON.stringify(r.query).includes("4321")));
      } finally {
        delete process.env.PUTIO_TEST_SECRET;
        delete process.env.PUTIO_TEST_CLIENT;
        await new Promise((r) => elsewhere.close(r));
      }
    });

    it("every login route is guarded by needsPermission('putio-account.write')", async () => {
      const RED: any = {};
      const routes: Array<{ method: string; path: string; guard: unknown }> = [];
      const record = (method: string) => (path: string, guard: unknown) => routes.push({ method, path, guard });
      RED.httpAdmin = { get: record("get"), post: record("post"), delete: record("delete") };
      const asked: string[] = [];
      RED.auth = { needsPermission: (p: string) => (asked.push(p), `guard:${p}`) };
      // A fresh copy of the module so its one-time registration runs against our recorder.
      const path = require.resolve("../nodes/common/login-routes");
      delete require.cache[path];
      require(path).registerLoginRoutes(RED);
      delete require.cache[path];
      assert.equal(routes.length, 4);
      for (const r of routes) assert.equal(r.guard, "guard:putio-account.write", `${r.method} ${r.path} is not guarded`);
    });
  });

  it("the token never appears in any log line or message", async () => {
    const flow = withTab([
      accountFlow(rig.emu),
      { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
      { id: "out", type: "helper" },
    ]);
    await nr.load([accountNode, infoNode], flow, { acc: { accessToken: rig.emu.token } });
    const got = nextMessage("out");
    nr.node("info").receive({});
    const msg = await got;
    rig.emu.revokeToken(rig.emu.token);
    nr.node("info").receive({});
    await statusMatching("info", (s) => s.fill === "red");
    assert.ok(!JSON.stringify(msg).includes(rig.emu.token));
    assert.ok(!nr.logText().includes(rig.emu.token));
  });
});
