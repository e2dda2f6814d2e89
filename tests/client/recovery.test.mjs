// A panic in the wasm module (a bug, if one is left) must not take the process
// down or leave calls pending: every call it was serving ends in an
// InternalError, and the same client works again on a fresh instance.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, pkg, withMock } from "./helpers.mjs";

const panicForTests = Symbol.for("mistral-ratelimit.panicForTests");

// A call and a stream in flight (the mock answers after a second), and two
// calls queued behind the request lane.
async function busy(c) {
  const calls = [c.chat.complete(chatRequest(2))];
  const stream = c.chat.stream(chatRequest(4))[Symbol.asyncIterator]();
  const opened = stream.next();
  calls.push(c.chat.complete(chatRequest(2)), c.chat.complete(chatRequest(2)));
  while (c.status().inFlight < 2) await new Promise((r) => setTimeout(r, 10));
  assert.equal(c.status().queued, 2);
  return { calls: [...calls, opened], stream };
}

async function assertEndedInternal(calls, stream) {
  const ended = await Promise.allSettled([
    ...calls,
    (async () => {
      while (!(await stream.next()).done);
    })(),
  ]);
  for (const r of ended) {
    assert.equal(r.status, "rejected", "a call outlived the instance that served it");
    assert.ok(r.reason instanceof pkg.InternalError, String(r.reason));
    assert.equal(r.reason.code, "internal");
    assert.match(r.reason.message, /panicForTests was called/);
  }
}

for (const later of [false, true]) {
  test(`a panic ${later ? "in a task" : "in a call"} ends the pending calls in InternalError, and the client works on`, () =>
    withMock(["--latency-ms", "1000"], async (mock) => {
      // Two requests a second: two in flight (once the start has risen to the
      // whole, a few ms in) and two queued until the window passes.
      const c = client(mock.url, { requestsPerSecond: 2 });
      const other = client(mock.url, { requestsPerSecond: 100 });
      const { calls, stream } = await busy(c);
      if (later) {
        c[panicForTests](true);
      } else {
        assert.throws(() => c[panicForTests](false), (e) => e instanceof pkg.InternalError);
      }
      await assertEndedInternal(calls, stream);

      // The process is alive (this line runs), and both clients work again.
      assert.equal((await c.chat.complete(chatRequest(2))).object, "chat.completion");
      assert.equal((await other.chat.complete(chatRequest(2))).object, "chat.completion");
      let events = 0;
      for await (const _ of c.chat.stream(chatRequest(4))) events++;
      assert.ok(events > 0);
      assertSettled(assert, c);
      assertSettled(assert, other);
      assert.equal(typeof pkg.version(), "string");
    }));
}
