// Every fault of the mock gives a retry or a typed error as the policy says, and
// aborts work wherever the call is. Each test scripts a mock of its own.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, pkg, withMock, withServer } from "./helpers.mjs";

const conversation = { model: "mistral-small-latest", inputs: "Bonjour", completion_args: { max_tokens: 5 } };

test("5xx: a chat completion is retried, a conversation write is not", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    await mock.faults(["503"]);
    const r = await c.chat.complete(chatRequest(3));
    assert.equal(r.object, "chat.completion");
    assert.equal(c.status().counters.retries, 1);
    await mock.faults(["502"]);
    const e = await c.beta.conversations.start(conversation).catch((x) => x);
    assert.ok(e instanceof pkg.ServerError, String(e));
    assert.equal(e.status, 502);
    assert.match(e.message, /processed/);
    assert.equal((await mock.stats()).by_route["POST /v1/conversations"]["502"], 1, "no second attempt");
    assertSettled(assert, c);
  }));

test("429: retried through the limiter; Retry-After is honoured and reported", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    await mock.faults(["429"]);
    await c.beta.conversations.start(conversation);
    assert.equal(c.status().counters.rateLimited, 1);
    await mock.faults(["429-retry-after", "429-retry-after"]);
    const started = performance.now();
    const e = await c.chat.complete(chatRequest(3), { maxRetries: 1 }).catch((x) => x);
    assert.ok(performance.now() - started >= 1000, "waited the server's second");
    assert.ok(e instanceof pkg.RateLimitError, String(e));
    assert.equal(e.retryAfterMs, 1000);
    assert.equal(e.rateLimitKind, "rate_limited");
    assert.equal(e.mistralCode, "1300");
    assertSettled(assert, c);
  }));

test("a connection reset: retried when harmless, a ConnectionError when not", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    await mock.faults(["reset"]);
    assert.equal((await c.chat.complete(chatRequest(3))).object, "chat.completion");
    await mock.faults(["reset"]);
    const e = await c.beta.conversations.start(conversation).catch((x) => x);
    assert.ok(e instanceof pkg.ConnectionError, String(e));
    assertSettled(assert, c);
  }));

test("a hang ends in a TimeoutError at the call's timeout", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    await mock.faults(["hang"]);
    const started = performance.now();
    const e = await c.beta.conversations.start(conversation, { timeoutMs: 300 }).catch((x) => x);
    const took = performance.now() - started;
    assert.ok(e instanceof pkg.TimeoutError, String(e));
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
    assertSettled(assert, c);
  }));

test("malformed and truncated replies are typed errors, streams included", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { maxRetries: 0 });
    await mock.faults(["malformed-json"]);
    const malformed = await c.chat.complete(chatRequest(8)).catch((x) => x);
    assert.ok(malformed instanceof pkg.ProtocolError && malformed.code === "protocol", String(malformed));
    assert.match(malformed.message, /not valid JSON/);
    await mock.faults(["truncate"]);
    const seen = [];
    const cut = await (async () => {
      for await (const chunk of c.chat.stream(chatRequest(40))) seen.push(chunk);
    })().catch((x) => x);
    assert.ok(cut instanceof pkg.ConnectionError, String(cut));
    assert.ok(seen.length > 0, "events before the cut were delivered");
    await mock.faults(["malformed-sse"]);
    const bad = await (async () => {
      for await (const _ of c.chat.stream(chatRequest(40)));
    })().catch((x) => x);
    assert.ok(bad instanceof pkg.ProtocolError && /malformed|line/.test(bad.message), String(bad));
    assertSettled(assert, c);
  }));

test("a server that answers a stream request with JSON is a ProtocolError, not the caller's ConfigError", () =>
  withServer(
    (req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "x", object: "chat.completion", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    },
    async (url) => {
      const c = client(url, { maxRetries: 0 });
      const e = await (async () => {
        for await (const _ of c.chat.stream(chatRequest(4)));
      })().catch((x) => x);
      assert.ok(e instanceof pkg.ProtocolError && !(e instanceof pkg.ConfigError), String(e));
      assert.equal(e.code, "protocol");
      assert.match(e.message, /other than an event stream to a stream request/);
      assert.deepEqual(c.metrics().overall.errors, { ProtocolError: 1 });
      assertSettled(assert, c);
    },
  ));

test("a 401 says which option holds the key, and never repeats the key", () =>
  withMock(["--api-key", "the-right-key"], async (mock) => {
    const wrong = await client(mock.url, { apiKey: "sk-wrong-1234" }).chat.complete(chatRequest(3)).catch((x) => x);
    assert.ok(wrong instanceof pkg.AuthenticationError, String(wrong));
    assert.equal(wrong.code, "authentication");
    assert.equal(wrong.status, 401);
    assert.match(wrong.message, /refused the API key: check the `apiKey` option \(or MISTRAL_API_KEY in Node and Deno\)/);
    assert.ok(!wrong.message.includes("sk-wrong-1234"), wrong.message);
    // No key given, none in the environment.
    const saved = process.env.MISTRAL_API_KEY;
    delete process.env.MISTRAL_API_KEY;
    try {
      const none = await client(mock.url, { apiKey: undefined }).chat.complete(chatRequest(3)).catch((x) => x);
      assert.ok(none instanceof pkg.AuthenticationError, String(none));
      assert.match(none.message, /no API key was sent: pass the `apiKey` option \(or set MISTRAL_API_KEY in Node and Deno\)/);
    } finally {
      if (saved !== undefined) process.env.MISTRAL_API_KEY = saved;
    }
    const right = await client(mock.url, { apiKey: "the-right-key" }).chat.complete(chatRequest(3));
    assert.equal(right.object, "chat.completion");
  }));

test("aborts: while queued, in flight, and in an endless stream", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { requestsPerSecond: 1 });
    await c.chat.complete(chatRequest(2)); // the second now waits a whole second
    const queued = new AbortController();
    const waiting = c.chat.complete(chatRequest(2), { signal: queued.signal });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.status().queued, 1);
    queued.abort();
    assert.ok((await waiting.catch((x) => x)) instanceof pkg.AbortError);
    assert.equal(c.status().queued, 0, "the aborted call left the queue");

    const fast = client(mock.url);
    await mock.faults(["hang"]);
    const flying = new AbortController();
    setTimeout(() => flying.abort(), 100);
    assert.ok((await fast.chat.complete(chatRequest(2), { signal: flying.signal }).catch((x) => x)) instanceof pkg.AbortError);

    await mock.faults(["never-ending"]);
    const endless = new AbortController();
    const got = [];
    const e = await (async () => {
      for await (const chunk of fast.chat.stream(chatRequest(4), { signal: endless.signal })) {
        got.push(chunk);
        if (got.length === 2) setTimeout(() => endless.abort(), 100);
      }
    })().catch((x) => x);
    assert.ok(e instanceof pkg.AbortError, String(e));
    assertSettled(assert, c);
    assertSettled(assert, fast);
  }));
