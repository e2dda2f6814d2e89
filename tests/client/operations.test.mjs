// Every operation round-trips against the mock with its wire-format body
// (round-trips.mjs, which the browser test runs too), and each costs the lanes
// what it should: completions their prompt and output, embeddings and
// classifiers their input only, the rest one request. Writes are never repeated.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, client, withMock } from "./helpers.mjs";
import { roundTrips } from "./round-trips.mjs";

/** What the call made by `run` reserved and what it settled, from the client's events. */
async function costOf(c, run) {
  const events = [];
  const off = c.on((e) => (e.type === "queued" || e.type === "settled") && events.push(e));
  const result = await run();
  off();
  return { result, estimate: events.find((e) => e.type === "queued")?.estimate, tokens: events.find((e) => e.type === "settled")?.tokens };
}

test("every operation round-trips, and nothing is left in flight", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    const called = await roundTrips(c);
    assert.equal(new Set(called).size, called.length);
    const declared = [c.chat, c.fim, c.agents, c.embeddings, c.classifiers, c.models, c.beta.agents, c.beta.conversations]
      .reduce((n, group) => n + Object.keys(group).length, 0);
    assert.equal(called.length, declared, "every method of the client was called once");
    assertSettled(assert, c);
  }));

test("what each costs: completions their prompt and output, embeddings and classifiers their input only", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    const fim = await costOf(c, () => c.fim.complete({ model: "codestral-latest", prompt: "def add(a, b):", suffix: "return c", max_tokens: 16 }));
    assert.ok(fim.estimate >= 16 + 5, `FIM reserves its prompt, suffix and output: ${fim.estimate}`);
    assert.equal(fim.tokens, fim.result.usage.total_tokens);
    const embedded = await costOf(c, () => c.embeddings.create({ model: "mistral-embed", input: ["one", "two", "three"] }));
    assert.ok(embedded.estimate > 0 && embedded.estimate < 64, `an embedding reserves its input, no output: ${embedded.estimate}`);
    assert.equal(embedded.tokens, embedded.result.usage.total_tokens);
    const moderated = await costOf(c, () => c.classifiers.moderate({ model: "mistral-moderation-latest", input: ["a", "b"] }));
    assert.ok(moderated.estimate > 0 && moderated.estimate < 64, `moderation reserves its input, no output: ${moderated.estimate}`);
    const listed = await costOf(c, () => c.models.list());
    assert.equal(listed.estimate, 0, "a read costs no tokens");
  }));

test("ids are checked before anything is sent", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    for (const bad of [undefined, 3.5, "../conversations/x", { id: "ag_1" }]) {
      const e = await c.beta.agents.get(bad).catch((x) => x);
      assert.equal(e.name, "ConfigError", `get(${JSON.stringify(bad)})`);
    }
    assert.equal((await c.beta.agents.getVersion("ag_1", "../../x").catch((x) => x)).name, "ConfigError");
    assert.equal((await mock.stats()).requests, 0);
  }));

test("an agent update is a write: a 5xx after sending is not repeated", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { maxRetries: 3 });
    const agent = await c.beta.agents.create({ model: "mistral-small-latest", name: "once" });
    await mock.faults(["503"]);
    const e = await c.beta.agents.update(agent.id, { instructions: "again" }).catch((x) => x);
    assert.equal(e.name, "ServerError");
    assert.equal((await mock.stats()).by_route[`PATCH /v1/agents/${agent.id}`]["503"], 1, "sent once");
  }));

test("embeddings.createMany: 10,000 inputs at 5 rps, in order, no 429, the budget used", () =>
  withMock(["--rps", "5", "--latency-ms", "20-200"], async (mock) => {
    const c = client(mock.url, { requestsPerSecond: 5 });
    const inputs = Array.from({ length: 10_000 }, (_, i) => `input number ${i}`);
    const progress = [];
    const started = performance.now();
    const result = await c.embeddings.createMany({ model: "mistral-embed", input: inputs, output_dimension: 8 }, { maxInputsPerRequest: 128, onProgress: (p) => progress.push(p) });
    const took = performance.now() - started;
    assert.equal(result.data.length, inputs.length);
    assert.ok(result.data.every((d, i) => d.index === i), "in input order");
    // The mock's vectors are a function of the text: each is the one for its own input.
    const single = await c.embeddings.create({ model: "mistral-embed", input: inputs[9_999], output_dimension: 8 });
    assert.deepEqual(result.data[9_999].embedding, single.data[0].embedding);
    const stats = await mock.stats();
    assert.equal(stats.rate_limited, 0);
    assert.equal(result.usage.total_tokens + single.usage.total_tokens, stats.tokens_charged);
    assert.deepEqual(progress.at(-1), { done: 10_000, total: 10_000, tokens: result.usage.total_tokens });
    const requests = Math.ceil(10_000 / 128);
    // The limit lets 5 start in any second; the last batch then takes one call's time.
    const ideal = (Math.ceil(requests / 5) - 1) * 1000 + 200;
    assert.ok(ideal / took >= 0.95, `budget use ${(ideal / took).toFixed(3)} (${(took / 1000).toFixed(1)} s for ${requests} requests)`);
    assertSettled(assert, c);
  }));

test("embeddings.createMany: a transient failure is sent again, a refusal stops the rest", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { maxRetries: 0 });
    const inputs = Array.from({ length: 40 }, (_, i) => `text ${i}`);
    await mock.faults(["503"]);
    const result = await c.embeddings.createMany({ model: "mistral-embed", input: inputs }, { maxInputsPerRequest: 10 });
    assert.equal(result.data.length, 40);
    assert.equal((await mock.stats()).by_route["POST /v1/embeddings"]["503"], 1);
    const refused = await c.embeddings.createMany({ model: "mistral-chat-is-not-an-embedder", input: inputs }, { maxInputsPerRequest: 10 }).catch((e) => e);
    assert.equal(refused.name, "BadRequestError");
    for (const bad of [{ model: "mistral-embed", input: "one" }, { model: "mistral-embed", input: [] }, { model: "mistral-embed", input: [1] }]) {
      assert.equal((await c.embeddings.createMany(bad).catch((e) => e)).name, "ConfigError");
    }
    // It takes `input`, as create does; the old name says so.
    const renamed = await c.embeddings.createMany({ model: "mistral-embed", inputs }).catch((e) => e);
    assert.ok(renamed.name === "ConfigError" && renamed.message.includes("`input`"), String(renamed));
    assert.equal((await c.embeddings.createMany({ model: "mistral-embed", input: inputs }, { batch: 3 }).catch((e) => e)).name, "ConfigError");
    assertSettled(assert, c);
  }));
