/**
 * Fuzzed input: every node with an input, configured with its palette defaults, gets a seeded
 * stream of hostile messages (wrong types, huge strings, hostile names, nested arrays). Each
 * message must end exactly once, either sent on (Complete) or as a catchable error (Catch) with a
 * clear text; nothing may crash Node-RED or escape as an unhandled rejection.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { nr, withTab, type FlowNode } from "./nr";
import { defaultNode, nodeDefinitions, registeredNodes } from "./support/node-defs";
import { useNodeRed } from "./support/node-red-fixture";
import { seeded } from "./support/random";

const ROOT = path.join(__dirname, "..", "..");

const HOSTILE_STRINGS = [
  "",
  " ",
  "../../../../etc/passwd",
  "/etc/shadow",
  "a\u0000b",
  "CON",
  "name. ",
  "magnet:?xt=urn:btih:ZZZ",
  "magnet:?xt=urn:btih:" + "g".repeat(40),
  "http://",
  "ftp://:@/",
  "javascript:alert(1)",
  "x".repeat(300_000),
  "💥".repeat(1000),
  "%00%2e%2e%2f",
  "1; DROP TABLE files",
  "-1",
  "2147483647",
  "9007199254740993",
];

/** An object that refers to itself (JSON.stringify throws on it), nested the way msgs carry it. */
function circular(rand: () => number): unknown {
  const o: Record<string, unknown> = { id: rand() < 0.5 ? 1 : "x", name: "loop" };
  o.self = o;
  return rand() < 0.5 ? o : [o, { parent: o }];
}

/**
 * An object whose fields a node reads (id, name, file_id, url…) throw when read. Non-enumerable, so
 * Node-RED's own msg cloning (Catch, Complete) does not read them; only a node that looks does.
 */
function throwingGetters(): unknown {
  const o: Record<string, unknown> = { kind: "getters" };
  for (const key of ["id", "name", "file_id", "url", "title", "folder", "status", "size", "file_type"]) {
    Object.defineProperty(o, key, {
      enumerable: false,
      get: () => {
        throw new Error(`reading ${key} exploded`);
      },
    });
  }
  return o;
}

function randomValue(rand: () => number, depth = 0, odd = true): unknown {
  const pick = Math.floor(rand() * (odd ? 15 : 12));
  switch (pick) {
    case 12:
      return circular(rand);
    case 13:
      return [10n, -(2n ** 70n), 0n][Math.floor(rand() * 3)];
    case 14:
      return throwingGetters();
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return [-1, 0, 1.5, NaN, Infinity, -0, 2 ** 53, 2147483647][Math.floor(rand() * 8)];
    case 3:
      return rand() < 0.5;
    case 4:
    case 5:
      return HOSTILE_STRINGS[Math.floor(rand() * HOSTILE_STRINGS.length)];
    case 6:
      return Buffer.from(HOSTILE_STRINGS[Math.floor(rand() * HOSTILE_STRINGS.length)]);
    case 7:
      return depth > 3 ? [] : Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1, odd));
    case 8:
      return depth > 3 ? {} : { id: randomValue(rand, depth + 1, odd), file_id: randomValue(rand, depth + 1, odd), name: randomValue(rand, depth + 1, odd) };
    case 9:
      return { id: -5, name: "../x", crc32: "zz", size: -1, file_type: "FOLDER" };
    case 10:
      return [[[[["deep"]]]]];
    default:
      return { status: "COMPLETED", file_id: 2147483600, id: "x" };
  }
}

function randomMsg(rand: () => number, odd: boolean): Record<string, unknown> {
  const msg: Record<string, unknown> = { payload: randomValue(rand, 0, odd), topic: randomValue(rand, 0, odd) };
  for (const key of ["folder", "path", "target", "id", "ids", "name", "action", "method", "filename", "url", "since", "feedId"]) {
    if (rand() < 0.25) msg[key] = randomValue(rand, 0, odd);
  }
  return msg;
}

const MESSAGES_PER_NODE = 25;

describe("fuzzed input: every node survives hostile messages @nr", function () {
  this.timeout(120_000);
  const defs = nodeDefinitions().filter((d) => d.category !== "config" && d.inputs > 0);
  const modules = Object.values(registeredNodes()).map((f) => require(path.join(ROOT, f)));
  const unexpected: unknown[] = [];
  const onUnhandled = (e: unknown) => unexpected.push(e);

  before(() => {
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUnhandled);
  });
  after(() => {
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUnhandled);
  });
  // Realtime clock: nodes that wait for put.io (a zip, a transfer) must see it finish.
  const rig = useNodeRed({ emulator: { seed: true, realtimeClock: true }, per: "once" });

  // Also after a failure, so one node's failure does not fail the next node's load.
  afterEach(() => nr.helper.unload());

  it("has nodes to fuzz", () => assert.ok(defs.length > 0));

  for (const def of defs) {
    it(`${def.type}: each of ${MESSAGES_PER_NODE} random messages ends exactly once, errors are clear`, async () => {
      const rand = seeded(0x5eed + def.type.length);
      const flow = withTab([
        rig.account({ name: "fuzz account", webUrl: rig.emu.apiUrl }),
        defaultNode(
          def,
          "under-test",
          "acc",
          Array.from({ length: def.outputs }, () => []),
        ) as FlowNode,
        { id: "on-complete", type: "complete", scope: ["under-test"], uncaught: false, wires: [["ended"]] },
        { id: "on-catch", type: "catch", scope: ["under-test"], uncaught: false, wires: [["failed"]] },
        { id: "ended", type: "helper" },
        { id: "failed", type: "helper" },
      ]);
      await nr.load(modules, flow, { acc: { accessToken: rig.emu.token } });
      const endings = new Map<string, string[]>();
      const errors: string[] = [];
      nr.node("ended").on("input", (m: any) => endings.set(m._fuzz, [...(endings.get(m._fuzz) ?? []), "ok"]));
      nr.node("failed").on("input", (m: any) => {
        endings.set(m._fuzz, [...(endings.get(m._fuzz) ?? []), "error"]);
        errors.push(String(m.error?.message ?? ""));
      });
      const sent: string[] = [];
      for (let i = 0; i < MESSAGES_PER_NODE; i++) {
        const id = `m${i}`;
        sent.push(id);
        nr.node("under-test").receive({ ...randomMsg(rand, true), _fuzz: id });
      }
      // Wait until every message has ended (mocha's timeout catches a message that never ends).
      while (sent.some((id) => !endings.has(id))) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200)); // a second ending of any message would show up here
      for (const id of sent) assert.equal(endings.get(id)?.length, 1, `${def.type}: message ${id} ended ${endings.get(id)?.length} times`);
      for (const text of errors) {
        assert.ok(text.trim().length > 0, `${def.type}: an error without text`);
        assert.doesNotMatch(
          text,
          /TypeError|ReferenceError|URIError|Cannot read propert|is not a function|undefined is not|Converting circular structure|serialize a BigInt|Cannot mix BigInt|Cannot convert a BigInt|^Error: reading \w+ exploded/,
          `${def.type}: unclear error: ${text.slice(0, 200)}`,
        );
        assert.ok(!text.includes(rig.emu.token), `${def.type}: the token leaked into an error`);
      }
      assert.deepEqual(unexpected, [], `${def.type}: unhandled rejection or exception`);
    });
  }
});
