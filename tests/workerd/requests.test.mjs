// A client at module scope in workerd, shared by overlapping requests: every
// request's calls complete, each in its own request (workerd drops I/O that a
// finished request started on another's behalf), and a request that ends early
// loses only its own calls.
import { test } from "node:test";
import assert from "node:assert/strict";

import { withMock } from "../client/helpers.mjs";
import { stage, workerd } from "./harness.mjs";

const dir = stage();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withWorker(mock, body) {
  const mf = await workerd(dir, [{ name: "app", bindings: { UPSTREAM_URL: mock.url, RPS: "2" } }]);
  try {
    return await body((path) => mf.dispatchFetch(`http://app${path}`));
  } finally {
    await mf.dispose();
  }
}

async function settled(get) {
  const status = await (await get("/status")).json();
  assert.equal(status.inFlight, 0, "a reservation was left in flight");
  assert.equal(status.queued, 0, "a call was left in the queue");
}

test("10 overlapping requests x 5 calls at 2 rps, plain and streamed: every call completes, each sent once", () =>
  withMock(["--rps", "2", "--latency-ms", "20-200"], (mock) =>
    withWorker(mock, async (get) => {
      const replies = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          await sleep(40 * i);
          const res = await get(`/calls?n=5&streamed=odd`);
          assert.equal(res.status, 200, `request ${i}: ${await res.clone().text()}`);
          return res.json();
        }),
      );
      assert.deepEqual(replies.flat().filter((r) => r !== "ok"), [], "every call of every request succeeded");
      const stats = await mock.stats();
      assert.equal(stats.requests, 50, "the mock saw each call once");
      assert.equal(stats.rate_limited, 0);
      await settled(get);
    })));

test("a request that ends before its calls loses only those: the others complete and nothing is left held", () =>
  withMock(["--rps", "2"], (mock) =>
    withWorker(mock, async (get) => {
      const first = get("/calls?n=3");
      await sleep(50);
      assert.equal(await (await get("/orphan?n=4")).text(), "gone");
      const later = get("/calls?n=3");
      assert.deepEqual(await (await first).json(), ["ok", "ok", "ok"]);
      assert.deepEqual(await (await later).json(), ["ok", "ok", "ok"]);
      // The orphan's calls were queued behind the first request's: none was sent.
      assert.equal((await mock.stats()).requests, 6);
      // Their admissions, never collected, are refunded.
      await sleep(2500);
      await settled(get);
    })));
