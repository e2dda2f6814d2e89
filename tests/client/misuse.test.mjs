// Odd values from the caller are ConfigErrors that say what to change, and none
// of them sends anything: ids that could reach another resource, bodies that are
// not objects, credentials in serverURL, numbers out of range.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, pkg, withMock, withServer } from "./helpers.mjs";

const configError = (says) => (e) => e instanceof pkg.ConfigError && e.message.includes(says);

test("an id that could reach another resource is refused before anything is sent", () =>
  withMock([], async (mock) => {
    const c = client(`${mock.url}/proxy/`);
    for (const id of ["../../v1/agents/ag_1", "abc?x=1", "a/b", "..", "a#b", "%2e%2e", "x".repeat(129)]) {
      await assert.rejects(c.beta.conversations.delete(id), configError("id"), id);
      await assert.rejects(c.beta.conversations.get(id), configError("id"), id);
    }
    await assert.rejects(c.beta.conversations.append("../x", { inputs: "hi" }), configError("id"));
    assert.equal((await mock.stats()).requests, 0, "nothing reached the server");
    assertSettled(assert, c);
  }));

test("a body that is not an object is refused, as a rejected promise", async () => {
  const c = client("http://127.0.0.1:9");
  for (const body of ["hello", [1, 2], null, 42]) {
    const pending = c.chat.complete(body);
    assert.ok(pending instanceof Promise, "not a throw at the call");
    await assert.rejects(pending, configError("must be an object"));
  }
  const stream = c.chat.stream("hello");
  await assert.rejects((async () => {
    for await (const _ of stream);
  })(), configError("must be an object"));
});

test("credentials in serverURL and numbers out of range are refused, numbers as people write them, credentials never echoed", () => {
  for (const [options, says] of [
    [{ serverURL: "http://user:s3cret@127.0.0.1:9/" }, "credentials"],
    [{ serverURL: "http://exa mple.com" }, "not a URL fetch can use"],
    [{ requestsPerSecond: 1e-20 }, "requestsPerSecond must be between 1/2678400 (one request a month) and 1000000000000000, got 1e-20"],
    [{ tokensPerMinute: 1e300 }, "tokensPerMinute must be between 1 and 1000000000000000, got 1e+300"],
    [{ tokensPerMinute: 0.5 }, "tokensPerMinute must be between 1 and 1000000000000000, got 0.5"],
    [{ alertRateLimitedShare: 5 }, "alertRateLimitedShare must be between 0.000001 and 1, got 5"],
    [{ timeoutMs: 2 ** 31 }, "timeoutMs must be at most 2147483647 ms (about 24.8 days), got 2147483648"],
    [{ baseDelayMs: 1e30 }, "baseDelayMs must be at most 2147483647 ms (about 24.8 days), got 1e+30"],
    [{ maxRetries: 1e6 }, "maxRetries must be a whole number from 0 to 100, got 1000000"],
    [{ maxRetries: 1.5 }, "maxRetries must be a whole number from 0 to 100, got 1.5"],
  ]) {
    assert.throws(() => new pkg.MistralRatelimitClient({ apiKey: "k", ...options }), (e) => configError(says)(e) && !e.message.includes("s3cret"), says);
  }
});

test("call options out of range are refused", async () => {
  const c = client("http://127.0.0.1:9");
  for (const [opts, says] of [
    [{ timeoutMs: 1e22 }, "timeoutMs must be at most"],
    [{ queueTimeoutMs: -1 }, "queueTimeoutMs"],
    [{ maxRetries: 1000 }, "maxRetries must be a whole number from 0 to 100, got 1000"],
    [{ maxRetries: 1.5 }, "maxRetries must be a whole number from 0 to 100, got 1.5"],
    [{ timeoutMs: 1e22 }, "got 1e+22"],
    [{ timeoutMs: "soon" }, "timeoutMs must be a number, got a string"],
    [{ priority: 1 }, "priority must be a string, got a number"],
    [{ signal: {} }, "signal must be an AbortSignal"],
  ]) {
    await assert.rejects(c.chat.complete(chatRequest(), opts), configError(says));
  }
});

test("a caller's signal keeps no listener once its calls are over", () =>
  withMock([], async (mock) => {
    const { getEventListeners } = await import("node:events");
    const c = client(mock.url);
    const signal = new AbortController().signal;
    for (let i = 0; i < 5; i++) {
      await c.chat.complete(chatRequest(2), { signal });
      for await (const _ of c.chat.stream(chatRequest(2), { signal }));
    }
    const it = c.chat.stream(chatRequest(8), { signal })[Symbol.asyncIterator]();
    await it.next();
    await it.return();
    assert.equal(getEventListeners(signal, "abort").length, 0, "every call let go of the signal");
  }));

test("an abort while the reply's body is still coming is an AbortError, not a dropped connection", () =>
  // A server that sends the head and half a body, then waits.
  withServer(
    (req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "200" });
      res.write('{"id":"x","object":"chat.completion",');
    },
    async (url) => {
      const c = client(url, { maxRetries: 0 });
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 200);
      const e = await c.chat.complete(chatRequest(2), { signal: abort.signal }).catch((x) => x);
      assert.ok(e instanceof pkg.AbortError, String(e));
      assertSettled(assert, c);
    },
  ));
