// Mistral's newer rules, against a mock that enforces them (mock-mistral/RULES.md):
// a cached prompt charged at a tenth and the charge stated in
// x-ratelimit-tokens-query-cost, a model not on the plan (a limit of 0 requests),
// a spending limit (402), the same two through client.fetch under the official
// SDK, and capacity sent as a 503.
import { test } from "node:test";
import assert from "node:assert/strict";

import { HTTPClient, Mistral } from "@mistralai/mistralai";

import { assertSettled, chatRequest, client, oracle, pkg, serviceTime, withMock } from "./helpers.mjs";

const SMALL = "mistral-small-latest";
const LARGE = "mistral-large-latest";

test("a cache-heavy workload is bound by the rate, not by prompt tokens the server never charged", () =>
  withMock(["--rps", "5", "--tpm", "20000", "--latency-ms", "20-120"], async (mock) => {
    const serviceMs = await serviceTime(mock);
    const c = client(mock.url, { requestsPerSecond: 5, tokensPerMinute: 20_000 });
    // One long system prompt (about 2,000 tokens) under one key, a short question each.
    const system = Array.from({ length: 2000 }, (_, i) => `rule${i % 97}`).join(" ");
    const ask = (i) =>
      c.chat.complete({
        model: SMALL,
        max_tokens: 8,
        prompt_cache_key: "support-bot",
        messages: [{ role: "system", content: system }, { role: "user", content: `Question ${i}?` }],
      });
    const t0 = performance.now();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(i)));
    const ms = performance.now() - t0;
    // What the mock charged each: the uncached prompt, a tenth of the cached, the output.
    const charged = replies.map(({ usage: u }) => {
      const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
      return { total: u.prompt_tokens - cached + Math.ceil(cached / 10) + u.completion_tokens };
    });
    assert.ok(replies.filter((r) => r.usage.prompt_tokens_details?.cached_tokens > 0).length >= 35, "the prompt was cached");
    const ideal = oracle(charged, { rps: 5, tpm: 20_000, serviceMs });
    const whole = replies.reduce((n, r) => n + r.usage.total_tokens, 0);
    console.log(`# 40 cached calls: ${(ms / 1000).toFixed(2)} s, oracle ${(ideal / 1000).toFixed(2)} s, use ${(ideal / ms).toFixed(3)} (usage says ${whole} tokens; the mock charged ${charged.reduce((n, x) => n + x.total, 0)})`);
    assert.equal((await mock.stats()).rate_limited, 0);
    assert.ok(ideal / ms >= 0.85, `used ${(ideal / ms).toFixed(3)} of the budget`);
    assert.ok(c.metrics().overall.tokensCached > 0);
    assertSettled(assert, c);
  }));

test("a model not on the plan fails at once with its own error, is not asked again, and a chain skips it", () =>
  withMock(["--plan-models", `${SMALL},mistral-medium-latest`], async (mock) => {
    const c = client(mock.url);
    const kinds = [];
    c.on((e) => e.type === "rate-limited" && kinds.push(e.kind));
    const t0 = performance.now();
    const e = await c.chat.complete({ ...chatRequest(4), model: LARGE }).catch((err) => err);
    const ms = performance.now() - t0;
    assert.ok(e instanceof pkg.ModelNotOnPlanError, String(e));
    assert.equal(e.model, LARGE);
    assert.match(e.message, /not on this workspace's plan/);
    console.log(`# a model not on the plan: ModelNotOnPlanError after ${ms.toFixed(1)} ms`);
    assert.ok(ms < 50, `took ${ms.toFixed(1)} ms`);
    assert.deepEqual(kinds, ["not_on_plan"]);
    const again = await c.chat.complete({ ...chatRequest(4), model: LARGE }).catch((err) => err);
    assert.ok(again instanceof pkg.ModelNotOnPlanError);
    assert.equal((await mock.stats()).rate_limited, 1, "the second call was never sent");
    // Other models go on: the 0 was the model's, not the workspace's.
    assert.equal((await c.chat.complete(chatRequest(4))).object, "chat.completion");

    const chained = client(mock.url, { fallback: { [LARGE]: ["mistral-medium-latest"] } });
    const moves = [];
    chained.on((ev) => ev.type === "fallback" && moves.push(ev.reason));
    const ask = () => chained.chat.complete({ ...chatRequest(4), model: LARGE });
    const replies = [await ask(), ...(await Promise.all([ask(), ask()]))];
    assert.deepEqual(replies.map((r) => r.model), Array(3).fill("mistral-medium-2508"));
    assert.deepEqual(moves, ["unavailable", "unavailable", "unavailable"]);
    assert.equal((await mock.stats()).rate_limited, 2, "once it knew, the chain skipped the model unsent");
    assertSettled(assert, c);
    assertSettled(assert, chained);
  }));

test("a spending limit (402) ends every waiting call at once, with no second request", () =>
  withMock(["--spending-limit", "1", "--spending-reset-at", "2027-01-01T00:00:00Z"], async (mock) => {
    const c = client(mock.url, { requestsPerSecond: 1 });
    const events = [];
    c.on((e) => e.type === "spending-limit" && events.push({ ...e, at: performance.now() }));
    const ended = [];
    const calls = Array.from({ length: 8 }, () =>
      c.chat.complete(chatRequest(4)).then(
        (r) => ({ ok: r, at: performance.now() }),
        (e) => ({ error: e, at: performance.now() }),
      ).then((x) => (ended.push(x), x)),
    );
    const results = await Promise.all(calls);
    assert.equal(results.filter((r) => r.ok).length, 1, "the first, before the limit, was served");
    const refused = results.filter((r) => r.error);
    for (const { error } of refused) {
      assert.ok(error instanceof pkg.SpendingLimitError, String(error));
      assert.equal(error.resetAt, "2027-01-01T00:00:00Z");
    }
    assert.equal(events.length, 1);
    assert.match(events[0].message, /Spending limit reached/);
    assert.equal(events[0].resetAt, "2027-01-01T00:00:00Z");
    const last = Math.max(...refused.map((r) => r.at));
    console.log(`# 402: ${refused.length} calls ended, the last ${(last - events[0].at).toFixed(1)} ms after the spending-limit event`);
    assert.ok(last - events[0].at < 100, `the waiting calls ended ${(last - events[0].at).toFixed(0)} ms after the 402`);
    assert.equal((await mock.stats()).requests, 2, "one served, one 402, nothing after");
    const later = await c.chat.complete(chatRequest(4)).catch((e) => e);
    assert.ok(later instanceof pkg.SpendingLimitError, "a later call is not sent either");
    assert.equal((await mock.stats()).requests, 2);
    assertSettled(assert, c);
  }));

test("through client.fetch, a call barred unsent gets the server's answer: the official SDK raises its own 402 and 429", () =>
  withMock(["--spending-limit", "1", "--plan-models", SMALL], async (mock) => {
    const c = client(mock.url, { requestsPerSecond: 5 });
    const sdk = new Mistral({ apiKey: "sdk-key", serverURL: mock.url, httpClient: new HTTPClient({ fetcher: c.fetch }) });
    const ask = (model) => sdk.chat.complete({ model, messages: [{ role: "user", content: "Hi" }], maxTokens: 4 }).catch((e) => e);
    // A model off the plan: the server's 429 with a limit of 0, then the same, unsent.
    for (const _ of [1, 2]) {
      const e = await ask(LARGE);
      assert.equal(e.statusCode, 429, String(e));
    }
    assert.equal((await mock.stats()).rate_limited, 1, "the second was never sent");
    // A spending limit: the first call is served, the second meets the 402, the third is answered unsent.
    assert.equal((await ask(SMALL)).object, "chat.completion");
    const met = await ask(SMALL);
    const unsent = await ask(SMALL);
    assert.equal(met.statusCode, 402, String(met));
    assert.equal(unsent.statusCode, 402, String(unsent));
    assert.match(unsent.body, /Spending limit reached/);
    assert.equal((await mock.stats()).requests, 3, "one refused for the plan, one served, one 402");
    assertSettled(assert, c);
  }));

test("capacity sent as a 503 moves a call down its chain; a refused model is final without one", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { fallback: { [LARGE]: ["mistral-medium-latest"] } });
    const moves = [];
    c.on((e) => e.type === "fallback" && moves.push(e.reason));
    for (const fault of ["capacity-503", "out-of-capacity"]) {
      await mock.faults([fault]);
      const reply = await c.chat.complete({ ...chatRequest(4), model: LARGE });
      assert.equal(reply.model, "mistral-medium-2508", fault);
    }
    await mock.faults(["invalid-model"]);
    assert.equal((await c.chat.complete({ ...chatRequest(4), model: LARGE })).model, "mistral-medium-2508");
    assert.deepEqual(moves, ["capacity", "capacity", "unavailable"]);
    const alone = client(mock.url, { maxRetries: 3 });
    const before = (await mock.stats()).requests;
    await mock.faults(["model-not-in-use"]);
    const e = await alone.chat.complete(chatRequest(4)).catch((err) => err);
    assert.equal(e.name, "BadRequestError");
    assert.equal(e.mistralCode, "3003");
    assert.equal((await mock.stats()).requests, before + 1, "final: not retried");
    assertSettled(assert, c);
  }));
