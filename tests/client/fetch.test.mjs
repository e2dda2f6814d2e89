// client.fetch under the official SDK (`httpClient: new HTTPClient({ fetcher })`)
// and the AI SDK (`createMistral({ fetch })`), both pinned in package.json, their
// own retries off: 60 calls at once at 5 rps, plain and streamed, meet no 429 and
// settle once each; the server's refusals reach each SDK as its own errors; a 429
// is retried through the limiter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HTTPClient, Mistral } from "@mistralai/mistralai";
import { createMistral } from "@ai-sdk/mistral";
import { generateText, streamText } from "ai";

import { assertSettled, client, withMock } from "./helpers.mjs";

const RPS = 5;
const MODEL = "mistral-small-latest";
const messages = (i) => [{ role: "user", content: `call ${i}` }];

// What each SDK does with one plain or streamed call; resolves with its usage's total.
const SDKS = {
  "the official SDK": (c, url) => {
    const sdk = new Mistral({ apiKey: "sdk-key", serverURL: url, httpClient: new HTTPClient({ fetcher: c.fetch }) });
    return async (i, streamed) => {
      if (!streamed) return (await sdk.chat.complete({ model: MODEL, messages: messages(i), maxTokens: 8 })).usage.totalTokens;
      let total = 0;
      for await (const event of await sdk.chat.stream({ model: MODEL, messages: messages(i), maxTokens: 8 })) total = event.data.usage?.totalTokens ?? total;
      return total;
    };
  },
  "the AI SDK": (c, url) => {
    const mistral = createMistral({ apiKey: "sdk-key", baseURL: `${url}/v1`, fetch: c.fetch });
    const call = { model: mistral(MODEL), maxOutputTokens: 8, maxRetries: 0 };
    return async (i, streamed) => {
      if (!streamed) return (await generateText({ ...call, prompt: `call ${i}` })).usage.totalTokens;
      const result = streamText({ ...call, prompt: `call ${i}` });
      for await (const _ of result.textStream);
      return (await result.usage).totalTokens;
    };
  },
};

for (const [name, make] of Object.entries(SDKS)) {
  test(`${name} through client.fetch: 60 calls at once at ${RPS} rps, plain and streamed, no 429, each settled once`, () =>
    withMock(["--rps", String(RPS), "--latency-ms", "20-200"], async (mock) => {
      const c = client(mock.url, { requestsPerSecond: RPS });
      const settled = [];
      c.on((e) => e.type === "settled" && settled.push(e));
      const call = make(c, mock.url);
      const totals = await Promise.all(Array.from({ length: 60 }, (_, i) => call(i, i % 2 === 1)));
      assert.ok(totals.every((t) => t > 0), "every call reports its usage");
      const stats = await mock.stats();
      assert.equal(stats.rate_limited, 0);
      assert.equal(stats.requests, 60);
      assert.ok(stats.busiest_1s_admitted <= RPS, `${stats.busiest_1s_admitted} in one second`);
      assert.equal(settled.length, 60, "each call settled once");
      assert.equal(c.status().counters.tokensIn + c.status().counters.tokensOut, stats.tokens_charged, "the books match what the server charged");
      assertSettled(assert, c);
    }));
}

test("the server's refusal reaches the official SDK as its own error; a 429 is retried through the limiter", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    const sdk = new Mistral({ apiKey: "sdk-key", serverURL: mock.url, httpClient: new HTTPClient({ fetcher: c.fetch }) });
    const refused = await sdk.chat.complete({ model: "no-such-model", messages: messages(0) }).catch((e) => e);
    assert.equal(refused.statusCode, 400, String(refused));
    assert.match(refused.body, /invalid_model/);
    await mock.faults(["429"]);
    const reply = await sdk.chat.complete({ model: MODEL, messages: messages(1), maxTokens: 8 });
    assert.ok(reply.usage.totalTokens > 0);
    assert.equal((await mock.stats()).rate_limited, 1);
    assert.equal(c.status().counters.retries, 1, "the client retried the 429, not the SDK");
    assertSettled(assert, c);
  }));

test("a route no method names still goes through the budget, with the caller's own key", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { apiKey: "client-key" });
    const models = await c.fetch(`${mock.url}/v1/models`, { headers: { authorization: "Bearer caller-key" } });
    assert.equal(models.status, 200);
    assert.equal((await models.json()).object, "list");
    assert.equal(c.status().counters.requests, 1);
    const missing = await c.fetch(`${mock.url}/v1/files/nope`);
    assert.equal(missing.status, 404, "a 404 is the server's answer, not an exception");
    assertSettled(assert, c);
  }));
