// Chat completions and FIM through the official SDK: plain replies, streams, tool
// calls, cached tokens and the service tier in usage. Every body is also checked
// field by field against what the SDK parsed.

import assert from "node:assert/strict";
import { test } from "node:test";

import { assertFaithful, assertUsage, drain, makeClient, parseSSE, sdkCall, weatherTool } from "./helpers.mjs";

const FINISH = ["stop", "length", "model_length", "error", "tool_calls"];
const STREAM_FINISH = ["stop", "length", "error", "tool_calls"];
const messages = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Name three French painters." },
];

/** The checks every non-stream completion (chat or FIM) must pass. */
async function checkCompletion(client, r, model) {
  const x = await client.last();
  assert.equal(x.status, 200);
  assert.equal(x.headers.get("content-type"), "application/json");
  assert.ok(x.headers.get("mistral-correlation-id"), "mistral-correlation-id header");
  assertFaithful(JSON.parse(x.text), r, { what: "completion" });
  assert.equal(r.object, "chat.completion");
  assert.match(r.id, /^[0-9a-f]{32}$/);
  assert.ok(Number.isInteger(r.created) && Math.abs(r.created - Date.now() / 1000) < 600, `created ${r.created}`);
  assert.ok(r.model === model || r.model.length > 0, "model");
  assert.equal(r.choices.length, 1);
  const [choice] = r.choices;
  assert.equal(choice.index, 0);
  assert.ok(FINISH.includes(choice.finishReason), `finish_reason ${choice.finishReason}`);
  assert.equal(choice.message.role, "assistant");
  assertUsage(r.usage);
  assert.equal(r.usage.totalTokens, r.usage.promptTokens + r.usage.completionTokens);
  return choice;
}

/** Drains a chat/FIM stream, checks its framing and chunks; returns text and usage. */
async function checkStream(client, stream) {
  const events = await drain(stream);
  const x = await client.last();
  assert.equal(x.status, 200);
  assert.equal(x.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const frames = parseSSE(x.text);
  // Data-only frames, ended by `data: [DONE]`, which the SDK swallows.
  assert.ok(frames.every((f) => f.event === undefined), "chat streams carry no event: lines");
  assert.equal(frames.at(-1).data, "[DONE]", "the stream ends with data: [DONE]");
  assert.equal(events.length, frames.length - 1, "one SDK event per data frame before [DONE]");
  frames.slice(0, -1).forEach((f, i) =>
    // `p` is Mistral's undocumented padding field, unknown to the SDK.
    assertFaithful({ data: JSON.parse(f.data) }, events[i], { allowExtra: ["p"], what: `chunk ${i}` }),
  );

  const chunks = events.map((e) => e.data);
  const first = chunks[0];
  assert.equal(first.choices[0].delta.role, "assistant", "the first chunk names the role");
  assert.equal(first.choices[0].delta.content, "", "the first chunk has empty content");
  for (const c of chunks) {
    assert.equal(c.id, first.id, "every chunk has the same id");
    assert.equal(c.model, first.model);
    assert.equal(c.created, first.created);
    assert.equal(c.object, "chat.completion.chunk");
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].index, 0);
  }
  const last = chunks.at(-1);
  const finish = last.choices[0].finishReason;
  assert.ok(STREAM_FINISH.includes(finish), `finish_reason ${finish}`);
  assert.ok(last.usage, "the last content chunk carries usage");
  assertUsage(last.usage);
  chunks.slice(0, -1).forEach((c, i) => {
    assert.equal(c.choices[0].finishReason, null, `chunk ${i} has finish_reason null`);
    assert.equal(c.usage, undefined, `chunk ${i} carries no usage`);
  });
  const text = chunks.map((c) => c.choices[0].delta.content ?? "").join("");
  return { chunks, text, usage: last.usage, finish };
}

test("chat.complete: a plain reply", async () => {
  const client = makeClient();
  const r = await sdkCall(client.sdk.chat.complete({ model: "mistral-small-latest", messages, temperature: 0.2 }));
  const choice = await checkCompletion(client, r, "mistral-small-latest");
  assert.equal(typeof choice.message.content, "string");
  assert.ok(choice.message.content.length > 0, "non-empty content");
  assert.ok(choice.message.toolCalls == null, "no tool calls");
  assert.equal(choice.finishReason, "stop");
  assert.ok(r.usage.completionTokens > 0);
});

test("chat.complete: max_tokens caps the reply and ends it with `length`", async () => {
  const client = makeClient();
  const r = await sdkCall(client.sdk.chat.complete({ model: "mistral-large-latest", messages, maxTokens: 4 }));
  const choice = await checkCompletion(client, r, "mistral-large-latest");
  assert.ok(r.usage.completionTokens <= 4, `completion_tokens ${r.usage.completionTokens} > 4`);
  assert.equal(choice.finishReason, r.usage.completionTokens === 4 ? "length" : "stop");
});

test("chat.complete: a forced tool call", async () => {
  const client = makeClient();
  const r = await sdkCall(
    client.sdk.chat.complete({
      model: "mistral-medium-latest",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [weatherTool],
      toolChoice: "any",
    }),
  );
  const choice = await checkCompletion(client, r, "mistral-medium-latest");
  assert.equal(choice.finishReason, "tool_calls");
  assert.equal(choice.message.toolCalls.length, 1);
  const [call] = choice.message.toolCalls;
  assert.match(call.id, /^[A-Za-z0-9]{9}$/);
  assert.equal(call.function.name, "get_weather");
  assert.equal(typeof call.function.arguments, "string");
  assert.doesNotThrow(() => JSON.parse(call.function.arguments), "arguments are a JSON string");
  assert.equal(call.index, 0);

  // The tool's answer goes back as a `tool` message; the model then replies.
  const r2 = await sdkCall(
    client.sdk.chat.complete({
      model: "mistral-medium-latest",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: "", toolCalls: [call] },
        { role: "tool", toolCallId: call.id, name: "get_weather", content: '{"temp": 21}' },
      ],
      tools: [weatherTool],
    }),
  );
  const choice2 = await checkCompletion(client, r2, "mistral-medium-latest");
  assert.equal(choice2.finishReason, "stop");
  assert.ok(choice2.message.content.length > 0);
});

test("chat.stream: chunks, usage on the last content chunk, [DONE]", async () => {
  const client = makeClient();
  const stream = await sdkCall(client.sdk.chat.stream({ model: "ministral-8b-latest", messages }));
  const { chunks, text, usage, finish } = await checkStream(client, stream);
  assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
  assert.ok(text.trim().length > 0, "the deltas concatenate to some text");
  assert.equal(finish, "stop");
  assert.ok(usage.completionTokens > 0);
  assert.equal(usage.totalTokens, usage.promptTokens + usage.completionTokens);
});

test("chat.stream: a forced tool call arrives whole in one chunk", async () => {
  const client = makeClient();
  const stream = await sdkCall(
    client.sdk.chat.stream({
      model: "mistral-small-latest",
      messages: [{ role: "user", content: "Weather in Lyon?" }],
      tools: [weatherTool],
      toolChoice: "required",
    }),
  );
  const { chunks, finish } = await checkStream(client, stream);
  assert.equal(finish, "tool_calls");
  const withCalls = chunks.filter((c) => c.choices[0].delta.toolCalls?.length);
  assert.equal(withCalls.length, 1, "one chunk carries the tool calls");
  assert.equal(withCalls[0], chunks.at(-1), "and it is the last one");
  const [call] = withCalls[0].choices[0].delta.toolCalls;
  assert.equal(call.function.name, "get_weather");
  assert.match(call.id, /^[A-Za-z0-9]{9}$/);
});

test("chat.complete and chat.stream: usage with cached tokens and the service tier", async () => {
  // A key of this run's own: the shared mock keeps a prompt cache per key.
  const promptCacheKey = `sdk-fidelity-${process.pid}-${Date.now()}`;
  const client = makeClient();
  const ask = { model: "mistral-small-latest", promptCacheKey, serviceTier: "auto" };
  const first = await sdkCall(client.sdk.chat.complete({ ...ask, messages }));
  await checkCompletion(client, first, "mistral-small-latest");
  const sent = JSON.parse((await client.last()).requestText);
  assert.equal(sent.prompt_cache_key, promptCacheKey);
  assert.equal(sent.service_tier, "auto");
  // The SDK models service_tier; it keeps prompt_tokens_details as an extra field.
  assert.equal(first.usage.serviceTier, "standard", "the shared mock has no priority rate");
  assert.deepEqual(first.usage.prompt_tokens_details, { cached_tokens: 0 }, "nothing cached under a new key");

  const longer = [...messages, { role: "assistant", content: "Monet, Degas, Renoir." }, { role: "user", content: "And Dutch?" }];
  const stream = await sdkCall(client.sdk.chat.stream({ ...ask, messages: longer }));
  const { usage } = await checkStream(client, stream);
  assert.equal(usage.serviceTier, "standard");
  assert.deepEqual(usage.prompt_tokens_details, { cached_tokens: first.usage.promptTokens }, "the first prompt, cached");
  assert.equal(usage.totalTokens, usage.promptTokens + usage.completionTokens, "usage counts the whole prompt");
});

test("fim.complete: a plain reply from codestral", async () => {
  const client = makeClient();
  const r = await sdkCall(
    client.sdk.fim.complete({ model: "codestral-latest", prompt: "def add(a, b):\n    ", suffix: "\n\nprint(add(1, 2))" }),
  );
  const choice = await checkCompletion(client, r, "codestral-latest");
  assert.ok(choice.message.content.length > 0);
});

test("fim.stream: chunks, usage on the last content chunk, [DONE]", async () => {
  const client = makeClient();
  const stream = await sdkCall(
    client.sdk.fim.stream({ model: "codestral-latest", prompt: "function square(x) {", suffix: "}", maxTokens: 16 }),
  );
  const { text, usage } = await checkStream(client, stream);
  assert.ok(text.length > 0);
  assert.ok(usage.completionTokens <= 16);
});

test("fim.complete: a chat-only model is refused with 400 invalid_model", async () => {
  const client = makeClient();
  await assert.rejects(client.sdk.fim.complete({ model: "mistral-small-latest", prompt: "x" }), (err) => {
    assert.equal(err.statusCode, 400);
    assert.equal(JSON.parse(err.body).code, "1500");
    return true;
  });
});
