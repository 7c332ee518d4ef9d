/** The example flows and the sandbox's flow are laid out so no two nodes overlap on the canvas. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { starterFlow } from "../scripts/sandbox-flow";
import { labelWidth, nodeBox, overlaps, type FlowNode } from "./support/node-box";

const ROOT = path.join(__dirname, "..", "..");
const describeBox = (b: ReturnType<typeof nodeBox>) => `"${b.label}" (${b.id}) x ${b.left}…${b.right}, y ${b.top}…${b.bottom}`;

describe("example layout", () => {
  it("the width rule measures labels as the editor does (known widths)", () => {
    // Node-RED's own default sizes: a short label keeps the 100 px minimum, a long one grows in 20 px steps.
    assert.equal(nodeBox({ id: "a", type: "debug", name: "debug", x: 0, y: 0, wires: [] }).right * 2, 100);
    const long = nodeBox({ id: "b", type: "debug", name: "W".repeat(20), x: 0, y: 0, wires: [] });
    assert.equal(long.right - long.left, 20 * Math.ceil((20 * 13.216 + 57) / 20));
    assert.ok(Math.abs(labelWidth("Hello") - (722 + 556 + 222 + 222 + 556) * 0.014) < 1e-9);
    assert.ok(labelWidth("→") >= 14, "non-ASCII never counts less than 1 em");
    const overlapping: FlowNode[] = [
      { id: "x", type: "debug", name: "one", x: 100, y: 100, wires: [] },
      { id: "y", type: "debug", name: "two", x: 190, y: 100, wires: [] },
    ];
    assert.equal(overlaps(overlapping).length, 1);
    assert.equal(overlaps([overlapping[0], { ...overlapping[1], x: 200 }]).length, 0, "touching is not overlapping");
  });

  const flows: Array<[string, FlowNode[]]> = [
    ...fs
      .readdirSync(path.join(ROOT, "examples"))
      .filter((f) => f.endsWith(".json"))
      .map((f): [string, FlowNode[]] => [f, JSON.parse(fs.readFileSync(path.join(ROOT, "examples", f), "utf8")) as FlowNode[]]),
    ["the sandbox's flow (scripts/sandbox-flow.ts)", starterFlow() as FlowNode[]],
  ];
  for (const [name, flow] of flows) {
    it(`${name}: no two nodes overlap`, () => {
      const placed = flow.filter((n) => typeof n.x === "number");
      assert.ok(placed.length > 0);
      const clashes = overlaps(flow).map(([a, b]) => `${describeBox(a)} overlaps ${describeBox(b)}`);
      assert.deepEqual(clashes, []);
    });
  }
});
