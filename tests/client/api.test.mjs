// The package's API against the mock: every method, streams, errors and status.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, pkg } from "./helpers.mjs";

const url = process.env.MISTRAL_MOCK_URL;

test("the package reports the crate's version", async () => {
  const { readFileSync } = await import("node:fs");
  const cargo = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8");
  assert.equal(pkg.version(), cargo.match(/^version = "(.+)"$/m)[1]);
});

test("chat.complete returns the wire format and settles its real usage", async () => {
  const c = client(url);
  const r = await c.chat.complete(chatRequest(12));
  assert.equal(r.object, "chat.completion");
  assert.ok(r.choices[0].message.content.length > 0);
  const { prompt_tokens, completion_tokens, total_tokens } = r.usage;
  assert.equal(prompt_tokens + completion_tokens, total_tokens);
  const s = c.status();
  assert.equal(s.counters.tokensIn, prompt_tokens);
  assert.equal(s.counters.tokensOut, completion_tokens);
  assert.ok(s.counters.refunded > 0, "the estimate (prompt + max_tokens) was above the real cost");
  assert.ok(s.server.limits.length > 0, "the rate-limit headers were read");
  assert.equal(s.server.ignored, 0);
  assertSettled(assert, c);
});

test("chat.stream yields chunks until [DONE] and settles with the final usage", async () => {
  const c = client(url);
  let text = "";
  let usage;
  for await (const chunk of c.chat.stream(chatRequest(20))) {
    text += chunk.choices[0].delta.content ?? "";
    usage = chunk.usage ?? usage;
  }
  assert.ok(text.length > 0);
  assert.equal(c.status().counters.tokensOut, usage.completion_tokens);
  assert.ok(c.status().counters.ttftP50Ms >= 0);
  assertSettled(assert, c);
});

test("a stream can be iterated once", async () => {
  const c = client(url);
  const stream = c.chat.stream(chatRequest(4));
  for await (const _ of stream) break;
  assert.throws(() => stream[Symbol.asyncIterator](), (e) => e instanceof pkg.ConfigError);
  assertSettled(assert, c);
});

test("conversations: start, append, restart, history, messages, get, list, delete", async () => {
  const c = client(url);
  const started = await c.beta.conversations.start({ model: "mistral-small-latest", inputs: "Bonjour", completion_args: { max_tokens: 6 } });
  const id = started.conversation_id;
  assert.equal(started.object, "conversation.response");
  const appended = await c.beta.conversations.append(id, { inputs: "Et ensuite ?" });
  assert.equal(appended.conversation_id, id);
  const history = await c.beta.conversations.getHistory(id);
  assert.deepEqual(history.entries.map((e) => e.type), ["message.input", "message.output", "message.input", "message.output"]);
  const messages = await c.beta.conversations.getMessages(id);
  assert.equal(messages.messages.length, 4);
  const restarted = await c.beta.conversations.restart(id, { inputs: "Autre chose", from_entry_id: history.entries[1].id });
  assert.notEqual(restarted.conversation_id, id);
  const got = await c.beta.conversations.get(id);
  assert.equal(got.id, id);
  const listed = await c.beta.conversations.list({ page: 0, page_size: 100 });
  assert.ok(listed.some((x) => x.id === id));
  assert.equal(await c.beta.conversations.delete(id), undefined);
  await assert.rejects(c.beta.conversations.get(id), (e) => e instanceof pkg.NotFoundError && e.status === 404);
  assertSettled(assert, c);
});

test("conversation streams end at EOF with conversation.response.done", async () => {
  const c = client(url);
  const types = [];
  for await (const ev of c.beta.conversations.startStream({ model: "mistral-small-latest", inputs: "Salut", completion_args: { max_tokens: 6 } })) {
    types.push(ev.type);
  }
  assert.equal(types[0], "conversation.response.started");
  assert.equal(types.at(-1), "conversation.response.done");
  assert.ok(types.includes("message.output.delta"));
  assertSettled(assert, c);
});

test("typed errors carry the status, Mistral's code and the correlation id, never the key", async () => {
  const c = client(url, { apiKey: "secret-key-123" });
  const bad = await c.chat.complete({ ...chatRequest(), model: "bad model" }).catch((e) => e);
  assert.ok(bad instanceof pkg.BadRequestError && bad instanceof pkg.MistralRatelimitError && bad instanceof Error);
  assert.equal(bad.name, "BadRequestError");
  assert.equal(bad.code, "bad_request");
  assert.equal(bad.status, 400);
  assert.equal(bad.mistralCode, "1500");
  assert.equal(bad.type, "invalid_model");
  assert.match(bad.correlationId, /^[0-9a-f-]{36}$/);
  const invalid = await c.chat.complete({ ...chatRequest(), store: true }).catch((e) => e);
  assert.ok(invalid instanceof pkg.ValidationError);
  assert.equal(invalid.detail[0].type, "extra_forbidden");
  for (const e of [bad, invalid]) assert.ok(!JSON.stringify({ ...e, message: e.message, stack: e.stack }).includes("secret-key-123"));
  assertSettled(assert, c);
});

test("bad options and bad call options are ConfigErrors that say what to change", async () => {
  for (const [options, says] of [
    [{ requestsPerSecond: 0 }, "requestsPerSecond"],
    [{ tokensPerMinute: Number.NaN }, "tokensPerMinute"],
    [{ maxRetries: -1 }, "maxRetries"],
    [{ timeoutMs: "soon" }, "timeoutMs"],
    [{ serverUrl: "x" }, "unknown option 'serverUrl'"],
    [{ budget: "org" }, "budget must be an object"],
    [{ budget: { durableObject: {}, name: "org" } }, "budget.durableObject must be a Durable Object namespace"],
    [{ budget: { durableObject: { idFromName() {}, get() {} } } }, "the budget's name must be a non-empty string"],
    [{ budget: { name: "org" } }, "budget needs one of durableObject, redis and tabs"],
    [{ budget: { name: "org", redis: {} } }, "budget.redis must be a connected ioredis or node-redis"],
    [{ budget: { name: "org", redis: { evalsha() {}, eval() {} }, leaseMs: 5 } }, "budget.leaseMs must be a number of milliseconds from 1000 to 3600000 (default 15000), got 5"],
    [{ budget: { name: "org", redis: { evalsha() {}, eval() {} }, leaseMs: "15000" } }, "budget.leaseMs must be a number of milliseconds"],
    [{ budget: { name: "org", store: "x" } }, "unknown budget option 'store'"],
    [{ budget: { tabs: "app" } }, "budget.tabs needs BroadcastChannel and Web Locks"],
  ]) {
    assert.throws(() => new pkg.MistralRatelimitClient({ apiKey: "k", ...options }), (e) => e instanceof pkg.ConfigError && e.message.includes(says));
  }
  const c = client(url);
  await assert.rejects(c.chat.complete(chatRequest(), { priority: "urgent" }), (e) => e instanceof pkg.ConfigError && e.message.includes("priority"));
  await assert.rejects(c.chat.complete(chatRequest(), { retries: 2 }), (e) => e instanceof pkg.ConfigError && e.message.includes("unknown call option 'retries'"));
  await assert.rejects(c.chat.complete({ ...chatRequest(), max_tokens: 10_000_000 }), (e) => e instanceof pkg.ConfigError && e.message.includes("tokens/60s"));
});

test("a budget's name is kept apart for each of Mistral's regional servers, and shared by name elsewhere", () => {
  const namespace = { idFromName: (name) => name, get: () => ({ lease: async () => ({}) }) };
  const named = (serverURL) =>
    new pkg.MistralRatelimitClient({ apiKey: "k", serverURL, budget: { durableObject: namespace, name: "org" } }).status().budget.name;
  assert.equal(named(undefined), "org");
  assert.equal(named("https://api.mistral.ai"), "org");
  assert.equal(named("https://api.eu.mistral.ai"), "org@api.eu.mistral.ai");
  assert.equal(named("https://api.us.mistral.ai/"), "org@api.us.mistral.ai");
  assert.equal(named(url), "org", "a proxy or the mock may front the same counters as a direct client");
});

test("events report each stage of a call", async () => {
  const seen = [];
  const c = client(url, { onEvent: (e) => seen.push(e.type) });
  const off = c.on((e) => seen.push(`on:${e.type}`));
  await c.chat.complete(chatRequest(3));
  off();
  await c.chat.complete(chatRequest(3));
  assert.deepEqual(seen.slice(0, 6), ["queued", "on:queued", "sent", "on:sent", "settled", "on:settled"]);
  assert.deepEqual(seen.slice(6), ["queued", "sent", "settled"]);
});

test("event fields are plain numbers", async () => {
  const seen = [];
  const c = client(url, { onEvent: (e) => seen.push(e) });
  await c.chat.complete(chatRequest(3));
  for (const e of seen) for (const [k, v] of Object.entries(e)) assert.notEqual(typeof v, "bigint", `${e.type}.${k}`);
  assert.equal(typeof seen.find((e) => e.type === "settled").tokens, "number");
});

test("an append reserves the conversation's history, which the server counts in its prompt", async () => {
  const estimates = [];
  const c = client(url, { onEvent: (e) => e.type === "queued" && estimates.push(e.estimate) });
  const args = { completion_args: { max_tokens: 6 } };
  const first = await c.beta.conversations.start({ model: "mistral-small-latest", inputs: "Bonjour à tous. ".repeat(40), ...args });
  const id = first.conversation_id;
  const second = await c.beta.conversations.append(id, { inputs: "Encore", ...args });
  assert.ok(second.usage.prompt_tokens >= first.usage.total_tokens, "the server counts the history as prompt");
  assert.ok(estimates[1] >= first.usage.total_tokens + 6, `the append reserved ${estimates[1]}`);
  // A streamed turn is remembered too, under the id its started event names.
  let last;
  for await (const ev of c.beta.conversations.appendStream(id, { inputs: "Et ensuite ?", ...args })) {
    if (ev.type === "conversation.response.done") last = ev.usage;
  }
  await c.beta.conversations.append(id, { inputs: "Fin", ...args });
  assert.ok(estimates.at(-1) >= last.total_tokens + 6, `after the stream the append reserved ${estimates.at(-1)}`);
});
