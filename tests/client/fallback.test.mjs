// Model fallback, each trigger against the mock with a model held to its own
// rate (--model-rps): a saturated tier's 429, a 5xx after the retries, and a
// predicted wait past fallbackAfterMs. Never for a 4xx, never for a write a 5xx
// may have done. The reply's model says who served; a `fallback` event says why.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, withMock } from "./helpers.mjs";

const LARGE = "mistral-large-latest";
const chain = { [LARGE]: ["mistral-medium-latest", "mistral-small-latest"] };
const ask = (c) => c.chat.complete({ ...chatRequest(4), model: LARGE });

function watch(c) {
  const moves = [];
  c.on((e) => e.type === "fallback" && moves.push(e));
  return moves;
}

test("a saturated tier's 429 moves the call to the next model at once", () =>
  withMock(["--model-rps", `${LARGE}=1`], async (mock) => {
    const c = client(mock.url, { fallback: chain });
    const moves = watch(c);
    const replies = await Promise.all(Array.from({ length: 5 }, () => ask(c)));
    const served = replies.map((r) => r.model).sort();
    assert.deepEqual(served, ["mistral-large-2411", ...Array(4).fill("mistral-medium-2508")]);
    assert.deepEqual(moves.map((m) => [m.from, m.to, m.reason]), Array(4).fill([LARGE, "mistral-medium-latest", "capacity"]));
    assert.equal((await mock.stats()).rate_limited, 4);
    assert.equal(c.metrics().models[LARGE].fallbacks, 4);
    assertSettled(assert, c);
  }));

test("a 5xx after the retries moves a completion on, but never a write", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { fallback: chain, maxRetries: 2 });
    const moves = watch(c);
    await mock.faults(["503", "503", "503"]);
    const reply = await ask(c);
    assert.equal(reply.model, "mistral-medium-2508");
    assert.deepEqual(moves.map((m) => m.reason), ["unavailable"]);
    await mock.faults(["503"]);
    const write = await c.beta.conversations.start({ model: LARGE, inputs: "hi" }).catch((e) => e);
    assert.equal(write.name, "ServerError", "a conversation the server may have started is not started twice");
    assert.equal(moves.length, 1);
    assertSettled(assert, c);
  }));

test("a predicted wait past fallbackAfterMs moves the call on before it is sent", () =>
  withMock(["--model-rps", `${LARGE}=1`], async (mock) => {
    const c = client(mock.url, { fallback: chain, fallbackAfterMs: 500, modelLimits: { [LARGE]: { requestsPerSecond: 1 } } });
    const moves = watch(c);
    const replies = await Promise.all(Array.from({ length: 6 }, () => ask(c)));
    assert.equal(replies.filter((r) => r.model === "mistral-large-2411").length, 1);
    assert.equal(replies.filter((r) => r.model === "mistral-medium-2508").length, 5);
    assert.deepEqual([...new Set(moves.map((m) => m.reason))], ["wait"]);
    assert.equal((await mock.stats()).rate_limited, 0, "nothing was sent to be refused");
    assertSettled(assert, c);
  }));

test("a 4xx is the caller's to fix: no fallback", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { fallback: chain });
    const moves = watch(c);
    const e = await c.chat.complete({ ...chatRequest(4), model: LARGE, not_a_field: 1 }).catch((x) => x);
    assert.equal(e.name, "ValidationError");
    assert.equal(moves.length, 0);
  }));

test("fallback options are checked", () => {
  for (const options of [{ fallback: { [LARGE]: [] } }, { fallback: { [LARGE]: [LARGE] } }, { fallbackAfterMs: 0 }, { modelLimits: { [LARGE]: { rps: 1 } } }]) {
    assert.throws(() => client("http://127.0.0.1:9", options), { name: "ConfigError" }, JSON.stringify(options));
  }
});
