/**
 * Issue 25's model-based test of the local disk (test/support/local-disk-model.ts): user actions
 * on a NAS folder, put.io changes and glitches, and several engines' jobs at once on aliased
 * targets, with the invariants checked after every step. A modest number of runs here; many more
 * with MODEL_RUNS (npm run chaos). MODEL_SEED with the same MODEL_RUNS replays a failure's
 * generation (then shrunk again), and MODEL_PATH (+ MODEL_REPLAY, its replayPath) with them just the printed counterexample; MODEL_SYNC=0 leaves the sync out. On exFAT (a case-insensitive file
 * system without links) too, with fewer runs, when this machine can mount it (root and FUSE).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { exfatUnavailable, mountExfat, type ExfatMount } from "./support/exfat";
import { runLocalDiskModel } from "./support/local-disk-model";

const RUNS = Number(process.env.MODEL_RUNS) || 25;
// npm test replays one fixed schedule (a red CI names a defect, not a dice roll); npm run chaos
// (MODEL_RUNS set) draws new ones, and MODEL_SEED replays any of them.
const SEED = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : process.env.MODEL_RUNS ? undefined : 20261206;
/** With MODEL_SEED: the failure's printed path replays just it (pick its describe with --grep). */
const PATH = process.env.MODEL_PATH || undefined;
const REPLAY = process.env.MODEL_REPLAY || undefined;
/** MODEL_SYNC=0 leaves the folder sync out (to hunt in the download engine alone). */
const SYNC = process.env.MODEL_SYNC !== "0";

describe("local disk: the model (a NAS folder, put.io, several engines at once)", function () {
  this.timeout(Math.max(300_000, RUNS * 30_000));
  let base: string;

  before(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "putio-model-"));
  });
  after(() => {
    fs.rmSync(base, { recursive: true, force: true });
  });

  it(`${RUNS} runs on this machine's temp folder (folder links, a link to the target, one outside it)`, async () => {
    await runLocalDiskModel({ base, runs: RUNS, seed: SEED, path: PATH, replayPath: REPLAY, links: true, sync: SYNC });
  });

  describe("on exFAT (case-insensitive, no links)", function () {
    let mount: ExfatMount | null = null;

    before(async function () {
      const reason = exfatUnavailable();
      if (reason) {
        console.log(`      exFAT model SKIPPED: ${reason}`);
        this.skip();
      }
      mount = await mountExfat(128);
    });
    after(async () => {
      await mount?.unmount();
    });

    it(`${Math.max(3, Math.round(RUNS / 3))} runs`, async () => {
      await runLocalDiskModel({
        base: mount!.dir,
        runs: Math.max(3, Math.round(RUNS / 3)),
        seed: SEED,
        path: PATH,
        replayPath: REPLAY,
        links: false,
        sync: SYNC,
        remount: () => mount!.remount(),
      });
    });
  });
});
