/** withTimeLimit: a callback that never comes (a stuck context store) becomes an error, on a fake clock. */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { withTimeLimit } from "../lib/core/sleep";

describe("withTimeLimit", () => {
  let clock: FakeTimers.InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => clock.uninstall());

  it("a promise that never settles is rejected with the given error once the limit passed", async () => {
    const never = new Promise<void>(() => {});
    const limited = withTimeLimit(never, 30_000, () => new Error("the context store did not answer within 30 s"));
    let settled = false;
    limited.catch(() => {}).finally(() => (settled = true));
    await clock.tickAsync(29_999);
    assert.equal(settled, false);
    await clock.tickAsync(1);
    await assert.rejects(limited, /did not answer within 30 s/);
  });

  it("an answer in time passes through (value and error), and a late timer does nothing", async () => {
    assert.equal(await withTimeLimit(Promise.resolve(7), 10, () => new Error("late")), 7);
    await assert.rejects(
      withTimeLimit(Promise.reject(new Error("refused")), 10, () => new Error("late")),
      /refused/,
    );
    assert.equal(clock.countTimers(), 0, "the timer is cleared");
  });
});
