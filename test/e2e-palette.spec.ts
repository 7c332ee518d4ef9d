/**
 * The package as a user installs it, in real Node-RED 4.1 (Node 20) and 5 (Node 22): `npm pack`,
 * `npm install <tgz>` into a fresh userDir, start, then through the admin API: every node of
 * package.json registered and enabled without load errors, the examples listed, an account against
 * the emulator validates, a flow through http in and one through a real MQTT broker (aedes) work,
 * and Ctrl-C stops it cleanly. Needs `npm run setup` (Node 22 + Node-RED 5); fails without it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startEmulator, type Emulator } from "./emulator";
import { Broker, topicFor } from "./e2e/mqtt";
import {
  accountNode,
  FLAVORS,
  MODULE,
  packageNodes,
  registeredNodes,
  requireSetup,
  ROOT,
  startNodeRed,
  TAB,
  waitFor,
  type FlowNode,
  type NodeRed,
  type NodeSet,
} from "./e2e/harness";

const ACCOUNT = "e2e-account";
/** Node types of a flow file that are not nodes of a palette. */
const NOT_NODES = new Set(["tab", "group", "junction", "subflow"]);

function repoExamples(): string[] {
  const dir = path.join(ROOT, "examples");
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .sort()
    : [];
}

/**
 * The MQTT test runs an example flow when the package ships one named mqtt-magnet*.json,
 * rewired to the emulator and to aedes; until then a flow of its own.
 */
function mqttMagnetExample(): string | undefined {
  return repoExamples().find((f) => /^mqtt-magnet.*\.json$/.test(f));
}

for (const key of ["nr4", "nr5"] as const) {
  const flavor = FLAVORS[key];

  describe(`e2e palette install: ${flavor.label} @e2e`, function () {
    this.timeout(120_000);
    let emu: Emulator;
    let broker: Broker;
    let nr: NodeRed;

    before(async () => {
      requireSetup("node22", "nr5", "chromium");
      emu = await startEmulator();
      broker = await Broker.start();
      nr = await startNodeRed({ flavor });
    });

    after(async () => {
      nr?.kill();
      await broker?.close();
      await emu?.close();
    });

    it("registers every node set of package.json: enabled, its types, no load error", async () => {
      const res = await nr.api<NodeSet[]>("GET", "/nodes");
      assert.equal(res.status, 200);
      const ours = res.body.filter((s) => s.module === MODULE);
      const defs = packageNodes();
      for (const [setName, file] of Object.entries(registeredNodes())) {
        const set = ours.find((s) => s.name === setName);
        assert.ok(set, `node set ${setName} is not registered; the log says:\n${nr.log}`);
        assert.equal(set.err, undefined, `${setName} failed to load: ${set.err}`);
        assert.equal(set.enabled, true, `${setName} is not enabled`);
        for (const def of defs.filter((d) => d.file === file)) assert.ok(set.types.includes(def.type), `${setName} does not register ${def.type}`);
      }
      assert.equal(ours.length, Object.keys(registeredNodes()).length, "node sets not in package.json");
      const mod = await nr.api<{ name: string; version: string; nodes: NodeSet[] }>("GET", `/nodes/${MODULE}`);
      assert.equal(mod.status, 200);
      assert.equal(mod.body.version, JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    });

    it("installs the optional native CRC-32 with the package, and the installed package uses it", () => {
      const installed = path.join(nr.userDir, "node_modules", MODULE);
      const probe = `console.log(require(${JSON.stringify(path.join(installed, "dist", "lib", "core", "crc.js"))}).crc32Implementation)`;
      const out = execFileSync(flavor.node, ["-e", probe], { cwd: nr.userDir, encoding: "utf8" }).trim();
      assert.equal(out, "native", "the palette install fell back to zlib's CRC-32");
    });

    it("lists the package's examples (at least one), each loads and uses only installed node types", async () => {
      const files = repoExamples();
      assert.ok(files.length > 0, "the package has no examples/*.json");
      const modules = await nr.api<string[]>("GET", "/library/examples/flows/");
      assert.ok(modules.body.includes(MODULE), `examples of ${MODULE} not listed: ${JSON.stringify(modules.body)}`);
      // Entries are folder names (strings) and flows ({fn}), as the Import > Examples menu shows them.
      const listing = await nr.api<Array<string | { fn: string }>>("GET", `/library/examples/flows/${MODULE}`);
      assert.equal(listing.status, 200, JSON.stringify(listing.body));
      const listed = listing.body.flatMap((e) => (typeof e === "string" ? [] : [e.fn])).sort();
      assert.deepEqual(
        listed,
        files.map((f) => f.replace(/\.json$/, "")),
        "the Import > Examples menu does not list every examples/*.json",
      );
      const types = new Set((await nr.api<NodeSet[]>("GET", "/nodes")).body.flatMap((s) => s.types));
      for (const name of listed) {
        const flow = await nr.api<FlowNode[]>("GET", `/library/examples/flows/${MODULE}/${name}`);
        assert.equal(flow.status, 200, `example ${name} does not load`);
        assert.ok(Array.isArray(flow.body), `example ${name} is not a flow array`);
        const unknown = flow.body.map((n) => n.type).filter((t) => !NOT_NODES.has(t) && !t.startsWith("subflow:") && !types.has(t));
        assert.deepEqual(unknown, [], `example ${name} uses node types this Node-RED does not have`);
      }
    });

    it("deploys an account with the emulator's token: it validates; http in → putio-account-info → http response answers", async () => {
      const route = `/e2e-account-${key}`;
      await nr.deploy([
        { id: TAB, type: "tab", label: "e2e" },
        accountNode(ACCOUNT, emu, emu.token),
        { id: "e2e-http", type: "http in", z: TAB, url: route, method: "get", upload: false, swaggerDoc: "", wires: [["e2e-info"]] },
        { id: "e2e-info", type: "putio-account-info", z: TAB, account: ACCOUNT, thresholdGb: "", includeSettings: false, wires: [["e2e-res"], ["e2e-res"]] },
        { id: "e2e-res", type: "http response", z: TAB, statusCode: "", headers: {}, wires: [] },
      ]);
      await waitFor(
        () => emu.requests.some((r) => r.method === "GET" && r.path === "/v2/account/info" && r.status === 200 && r.token === emu.token),
        "the account node to validate its token (GET /v2/account/info answered 200)",
      );
      const res = await fetch(nr.url + route);
      const body = await res.text();
      assert.equal(res.status, 200, body);
      const payload = JSON.parse(body) as { username?: string; disk?: { size?: number } };
      assert.equal(payload.username, "emulator");
      assert.equal(typeof payload.disk?.size, "number");
      const flowFile = fs.readFileSync(path.join(nr.userDir, "flows.json"), "utf8");
      assert.ok(!flowFile.includes(emu.token), "the token must not be written to the flow file");
    });

    const example = mqttMagnetExample();
    const mqttTitle = example
      ? `example ${example}: a magnet published through a real MQTT broker (aedes) adds a transfer`
      : "a message through a real MQTT broker (aedes) reaches putio-account-info via the core mqtt in node";

    it(mqttTitle, async () => {
      if (example) {
        const flow = JSON.parse(fs.readFileSync(path.join(ROOT, "examples", example), "utf8")) as FlowNode[];
        const accounts = new Set<string>();
        for (const n of flow) {
          // The example arrives with its MQTT nodes disabled (it needs the user's broker): enabled, as the user does after setting it.
          delete n.d;
          if (n.type === "mqtt-broker") Object.assign(n, { broker: "127.0.0.1", port: String(broker.port), usetls: false, autoConnect: true });
          if (n.type === "putio-account") Object.assign(n, accountNode(n.id, emu, emu.token));
          // Examples leave the account empty; the editor's import gives them the user's one account.
          if (n.type.startsWith("putio-") && n.account === "") n.account = ACCOUNT;
          if (n.type.startsWith("putio-") && typeof n.account === "string" && n.account) accounts.add(n.account);
        }
        for (const id of accounts) if (!flow.some((n) => n.id === id)) flow.push(accountNode(id, emu, emu.token));
        const ins = flow.filter((n) => n.type === "mqtt in");
        assert.ok(ins.length > 0, `${example} has no mqtt in node`);
        assert.ok(
          flow.some((n) => n.type === "putio-transfer-add"),
          `${example} has no putio-transfer-add node`,
        );
        const before = emu.requests.length;
        await nr.deploy(flow);
        const magnet = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=e2e-mqtt";
        for (const n of ins) {
          const sub = String(n.topic);
          await waitFor(() => broker.subscribed.has(sub), `Node-RED's mqtt in to subscribe to ${sub}`);
          await broker.publish(topicFor(sub), magnet);
        }
        await waitFor(
          () => emu.requests.slice(before).some((r) => r.method === "POST" && r.path === "/v2/transfers/add" && r.status === 200),
          "POST /v2/transfers/add answered 200",
        );
        return;
      }
      const result = "putio-e2e/result"; // outside the subscription below, or the flow would loop
      const before = broker.published.length;
      await nr.deploy([
        { id: TAB, type: "tab", label: "e2e mqtt" },
        accountNode(ACCOUNT, emu, emu.token),
        {
          id: "e2e-broker",
          type: "mqtt-broker",
          name: "aedes",
          broker: "127.0.0.1",
          port: String(broker.port),
          clientid: "",
          autoConnect: true,
          usetls: false,
          protocolVersion: "4",
          keepalive: "60",
          cleansession: true,
        },
        {
          id: "e2e-in",
          type: "mqtt in",
          z: TAB,
          topic: "putio/e2e/+",
          qos: "0",
          datatype: "utf8",
          broker: "e2e-broker",
          nl: false,
          rap: true,
          rh: 0,
          inputs: 0,
          wires: [["e2e-info"]],
        },
        { id: "e2e-info", type: "putio-account-info", z: TAB, account: ACCOUNT, thresholdGb: "", includeSettings: false, wires: [["e2e-out"], ["e2e-out"]] },
        { id: "e2e-out", type: "mqtt out", z: TAB, topic: result, qos: "0", retain: "false", broker: "e2e-broker", wires: [] },
      ]);
      await waitFor(() => broker.subscribed.has("putio/e2e/+"), "Node-RED's mqtt in to subscribe");
      await broker.publish("putio/e2e/read", "go");
      const out = await waitFor(() => broker.published.slice(before).find((p) => p.topic === result && p.fromClient), `a message on ${result}`);
      const payload = JSON.parse(out.payload.toString()) as { username?: string };
      assert.equal(payload.username, "emulator");
    });

    it("stops cleanly on SIGINT (exit code 0, flows stopped)", async () => {
      const code = await nr.stop();
      assert.equal(code, 0, nr.log);
      assert.match(nr.log, /Stopped flows/);
      const errors = nr.log.split("\n").filter((l) => /\[error\]/.test(l));
      assert.deepEqual(errors, [], "Node-RED logged errors");
    });
  });
}
