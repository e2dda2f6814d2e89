// A deadline nothing escapes (stalls.mjs): a call stopped in each state ends in
// its typed error within its bound plus a small slack, and leaves nothing held.
// The states after the reply (at EOF, settling) are aborts.test.mjs's.
import { test } from "node:test";
import assert from "node:assert/strict";

import { pkg, withServer } from "./helpers.mjs";
import { BOUND, SLACK, STALLS, stopEverywhere } from "./stalls.mjs";

test("a call stopped in each state ends in its typed error in time, holding nothing", () =>
  withServer(
    (req, res) => STALLS[req.url.split("/")[1]](res),
    async (url) => {
      const results = await stopEverywhere(pkg.MistralRatelimitClient, url);
      assert.equal(results.length, 10);
      for (const r of results) {
        assert.equal(r.error, r.want, r.name);
        assert.ok(r.took < BOUND + SLACK, `${r.name}: ended ${(r.took - BOUND).toFixed(0)} ms past its bound`);
        assert.deepEqual([r.inFlight, r.queued], [0, 0], `${r.name}: left something held`);
      }
    },
  ));
