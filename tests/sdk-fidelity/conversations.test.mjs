// Beta conversations through the official SDK: start, append, restart (plain and
// streaming), get, list, history, messages, delete, and function calling.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { MistralError, SDKError } from "@mistralai/mistralai/models/errors";

import { checkResponse, checkStored, checkStream, findConversation, textOf } from "./conversation-checks.mjs";
import { assertDateTime, assertFaithful, makeClient, mockURL, rejectsWithStatus, sdkCall, weatherTool } from "./helpers.mjs";

const MODEL = "mistral-small-latest";

/** Starts a plain model conversation; returns the reply. */
async function start(client, inputs = "Hello there", extra = {}) {
  const r = await sdkCall(client.sdk.beta.conversations.start({ model: MODEL, inputs, ...extra }));
  await checkResponse(client, r, "start");
  return r;
}

test("start, append, getHistory, getMessages, get: one conversation, its ids reused", async () => {
  const client = makeClient();
  const tag = randomUUID();
  const first = await start(client, "What is the capital of France?", {
    instructions: "Answer briefly.",
    name: "fidelity",
    description: "a fidelity test",
    metadata: { tag },
    completionArgs: { temperature: 0.3, maxTokens: 64 },
  });
  const convId = first.conversationId;
  assert.equal(first.outputs.length, 1);
  const [out1] = first.outputs;
  assert.equal(out1.type, "message.output");
  assert.ok(textOf(out1.content).length > 0, "the reply has text");
  assert.ok(first.usage.completionTokens <= 64, "completion_args.max_tokens is obeyed");

  const second = await sdkCall(
    client.sdk.beta.conversations.append({
      conversationId: convId,
      conversationAppendRequest: { inputs: "And of Italy?" },
    }),
  );
  await checkResponse(client, second, "append");
  assert.equal(second.conversationId, convId, "append keeps the conversation id");
  const [out2] = second.outputs;
  assert.notEqual(out2.id, out1.id, "each reply is a new entry");
  assert.ok(second.usage.promptTokens > first.usage.promptTokens, "the prompt now holds the history");

  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: convId }));
  const rawHistory = await checkStored(client, history, "entries", "history");
  assert.equal(history.conversationId, convId);
  assert.deepEqual(
    rawHistory.entries.map((e) => e.type),
    ["message.input", "message.output", "message.input", "message.output"],
  );
  const [in1, h1, in2, h2] = history.entries;
  assert.equal(in1.role, "user");
  assert.equal(textOf(in1.content), "What is the capital of France?");
  assert.equal(textOf(in2.content), "And of Italy?");
  assert.equal(h1.id, out1.id, "history keeps the reply's id");
  assert.equal(h2.id, out2.id);
  assert.equal(textOf(h1.content), textOf(out1.content), "history keeps the reply's text");
  assert.equal(textOf(h2.content), textOf(out2.content));
  assert.ok(in2.createdAt >= h1.createdAt, "entries are in time order");

  const messages = await sdkCall(client.sdk.beta.conversations.getMessages({ conversationId: convId }));
  const rawMessages = await checkStored(client, messages, "messages", "messages");
  assert.equal(messages.conversationId, convId);
  assert.deepEqual(
    rawMessages.messages.map((e) => e.id),
    rawHistory.entries.map((e) => e.id),
    "with no tool entries, messages are the whole history",
  );

  const conv = await sdkCall(client.sdk.beta.conversations.get({ conversationId: convId }));
  const x = await client.last();
  const raw = JSON.parse(x.text);
  assertFaithful(raw, conv, { what: "get" });
  assert.equal(raw.object, "conversation");
  assert.equal(conv.id, convId);
  assert.ok("model" in conv && !("agentId" in conv), "a model conversation (not an agent one)");
  assert.ok(conv.model === MODEL || conv.model.startsWith("mistral-small"), `model ${conv.model}`);
  assert.equal(conv.instructions, "Answer briefly.");
  assert.equal(conv.name, "fidelity");
  assert.equal(conv.description, "a fidelity test");
  assert.deepEqual(conv.metadata, { tag });
  assert.equal(conv.completionArgs?.temperature, 0.3);
  assertDateTime(raw.created_at, "created_at");
  assertDateTime(raw.updated_at, "updated_at");
  assert.ok(conv.updatedAt >= conv.createdAt);
  assert.ok(conv.updatedAt >= h2.createdAt, "updated_at moves with the last append");
});

test("start: inputs as a list of entries", async () => {
  const client = makeClient();
  const r = await start(client, [
    { role: "user", content: "My name is Ada." },
    { role: "assistant", content: "Hello Ada." },
    { role: "user", content: "What is my name?" },
  ]);
  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: r.conversationId }));
  const raw = await checkStored(client, history, "entries", "history");
  assert.deepEqual(
    raw.entries.map((e) => [e.type, e.role]),
    [
      ["message.input", "user"],
      ["message.input", "assistant"],
      ["message.input", "user"],
      ["message.output", "assistant"],
    ],
  );
  assert.equal(history.entries[3].id, r.outputs[0].id);
});

test("list: a bare array of conversations, paged and filtered by metadata", async () => {
  const client = makeClient();
  const tag = randomUUID();
  const a = await start(client, "one", { metadata: { tag } });
  const b = await start(client, "two", { metadata: { tag } });
  const all = await sdkCall(client.sdk.beta.conversations.list({ pageSize: 100 }));
  const raw = await client.lastJSON();
  assert.ok(Array.isArray(raw), "list returns a bare JSON array");
  assertFaithful(raw, all, { what: "list" });
  assert.ok(await findConversation(client, a.conversationId), "the first conversation is listed");
  assert.ok(await findConversation(client, b.conversationId), "the second conversation is listed");
  for (const c of raw) assert.equal(c.object, "conversation");

  const one = await sdkCall(client.sdk.beta.conversations.list({ page: 0, pageSize: 1 }));
  assert.equal(one.length, 1, "page_size is obeyed");

  const tagged = await sdkCall(client.sdk.beta.conversations.list({ metadata: { tag } }));
  assert.deepEqual(
    tagged.map((c) => c.id).sort(),
    [a.conversationId, b.conversationId].sort(),
    "the metadata filter keeps exactly the tagged conversations",
  );
});

test("restart: a new conversation from an entry; the original is untouched", async () => {
  const client = makeClient();
  const first = await start(client, "Count to three.");
  const convId = first.conversationId;
  await sdkCall(
    client.sdk.beta.conversations.append({ conversationId: convId, conversationAppendRequest: { inputs: "Again." } }),
  );
  const before = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: convId }));
  const from = first.outputs[0].id;

  const r = await sdkCall(
    client.sdk.beta.conversations.restart({
      conversationId: convId,
      conversationRestartRequest: { fromEntryId: from, inputs: "Count to four instead." },
    }),
  );
  await checkResponse(client, r, "restart");
  assert.notEqual(r.conversationId, convId, "restart makes a new conversation");

  const after = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: r.conversationId }));
  await checkStored(client, after, "entries", "restarted history");
  const kept = before.entries.findIndex((e) => e.id === from) + 1;
  assert.equal(after.entries.length, kept + 2, "the entries up to from_entry_id, then the new input and reply");
  assert.equal(textOf(after.entries[0].content), "Count to three.");
  assert.equal(textOf(after.entries.at(-2).content), "Count to four instead.");
  assert.equal(after.entries.at(-1).id, r.outputs[0].id);

  const original = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: convId }));
  assert.deepEqual(
    original.entries.map((e) => e.id),
    before.entries.map((e) => e.id),
    "the original conversation is unchanged",
  );
});

test("startStream: started, message deltas, done with usage; the stored reply matches", async () => {
  const client = makeClient();
  const stream = await sdkCall(
    client.sdk.beta.conversations.startStream({ model: MODEL, inputs: "Tell me a short story." }),
  );
  const s = await checkStream(client, stream, "startStream");
  assert.ok(s.deltas.length >= 2, `only ${s.deltas.length} deltas`);
  assert.ok(s.text.trim().length > 0, "the deltas concatenate to some text");
  const types = s.events.map((e) => e.data.type);
  assert.deepEqual(
    types,
    ["conversation.response.started", ...s.deltas.map(() => "message.output.delta"), "conversation.response.done"],
  );
  const requestBody = JSON.parse((await client.last()).requestText);
  assert.equal(requestBody.stream, true, "the SDK asks for a stream in the body");

  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: s.conversationId }));
  await checkStored(client, history, "entries", "history after stream");
  const last = history.entries.at(-1);
  assert.equal(last.type, "message.output");
  assert.equal(last.id, s.messageId, "the stored entry has the streamed id");
  assert.equal(textOf(last.content), s.text, "the stored entry has the streamed text");
});

test("appendStream: same conversation, history grows by two", async () => {
  const client = makeClient();
  const first = await start(client, "Hi");
  const stream = await sdkCall(
    client.sdk.beta.conversations.appendStream({
      conversationId: first.conversationId,
      conversationAppendStreamRequest: { inputs: "Tell me more." },
    }),
  );
  const s = await checkStream(client, stream, "appendStream");
  assert.equal(s.conversationId, first.conversationId, "append keeps the conversation id");
  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: first.conversationId }));
  assert.equal(history.entries.length, 4);
  assert.equal(history.entries.at(-1).id, s.messageId);
  assert.equal(textOf(history.entries.at(-1).content), s.text);
});

test("restartStream: a new conversation, streamed", async () => {
  const client = makeClient();
  const first = await start(client, "Hi");
  await sdkCall(
    client.sdk.beta.conversations.append({ conversationId: first.conversationId, conversationAppendRequest: { inputs: "Again" } }),
  );
  const stream = await sdkCall(
    client.sdk.beta.conversations.restartStream({
      conversationId: first.conversationId,
      conversationRestartStreamRequest: { fromEntryId: first.outputs[0].id, inputs: "Something else" },
    }),
  );
  const s = await checkStream(client, stream, "restartStream");
  assert.notEqual(s.conversationId, first.conversationId, "restart makes a new conversation");
  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: s.conversationId }));
  assert.equal(history.entries.at(-1).id, s.messageId);
});

test("delete: 204, then the conversation is gone (404)", async () => {
  const client = makeClient();
  const r = await start(client, "Short-lived");
  const deleted = await sdkCall(client.sdk.beta.conversations.delete({ conversationId: r.conversationId }));
  assert.equal(deleted, undefined);
  const x = await client.last();
  assert.equal(x.status, 204);
  assert.equal(x.text, "", "204 has no body");
  await rejectsWithStatus(client.sdk.beta.conversations.get({ conversationId: r.conversationId }), 404, SDKError);
  await rejectsWithStatus(client.sdk.beta.conversations.getHistory({ conversationId: r.conversationId }), 404, SDKError);
  await rejectsWithStatus(
    client.sdk.beta.conversations.append({ conversationId: r.conversationId, conversationAppendRequest: { inputs: "x" } }),
    404,
    SDKError,
  );
});

test("errors: unknown conversation 404; restart without from_entry_id 422; bad model 400", async () => {
  const client = makeClient();
  const err = await rejectsWithStatus(
    client.sdk.beta.conversations.get({ conversationId: "conv_00000000000000000000000000000000" }),
    404,
    MistralError,
  );
  assert.equal(JSON.parse(err.body).object, "error");

  // The SDK requires fromEntryId, so send the request without it by hand.
  const r = await start(client, "Hi");
  const response = await fetch(`${mockURL()}/v1/conversations/${r.conversationId}/restart`, {
    method: "POST",
    headers: { authorization: "Bearer k", "content-type": "application/json" },
    body: JSON.stringify({ inputs: "x" }),
  });
  assert.equal(response.status, 422);
  const body = await response.json();
  assert.deepEqual(body.detail[0].loc, ["body", "from_entry_id"]);
  assert.equal(body.detail[0].type, "missing");

  const unknownField = await fetch(`${mockURL()}/v1/conversations`, {
    method: "POST",
    headers: { authorization: "Bearer k", "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, inputs: "x", temperature: 0.5 }),
  });
  assert.equal(unknownField.status, 422, "temperature belongs in completion_args");
  assert.equal((await unknownField.json()).detail[0].type, "extra_forbidden");

  const bad = await rejectsWithStatus(
    client.sdk.beta.conversations.start({ model: "no-such-model", inputs: "x" }),
    400,
    SDKError,
  );
  assert.equal(JSON.parse(bad.body).code, "1500");

});

test("function calling: a forced tool choice replies with a function.call; function.result answers it", async () => {
  const client = makeClient();
  const r = await start(client, "What is the weather in Paris?", {
    tools: [weatherTool],
    completionArgs: { toolChoice: "any" },
  });
  const call = r.outputs.at(-1);
  assert.equal(call.type, "function.call", "a forced tool choice ends the outputs with a function.call");
  assert.equal(call.name, "get_weather");
  assert.equal(typeof call.toolCallId, "string");
  assert.ok(call.toolCallId.length > 0);
  const args = typeof call.arguments === "string" ? JSON.parse(call.arguments) : call.arguments;
  assert.equal(typeof args, "object");

  const answer = await sdkCall(
    client.sdk.beta.conversations.append({
      conversationId: r.conversationId,
      conversationAppendRequest: {
        inputs: [{ type: "function.result", toolCallId: call.toolCallId, result: '{"temp": 21}' }],
      },
    }),
  );
  await checkResponse(client, answer, "append function.result");
  assert.equal(answer.outputs.at(-1).type, "message.output");
  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: r.conversationId }));
  assert.deepEqual(
    history.entries.map((e) => e.type),
    ["message.input", "function.call", "function.result", "message.output"],
  );
});

test("function entries sent by the client: stored in history, left out of messages", async () => {
  const client = makeClient();
  const r = await start(client, [
    { role: "user", content: "What is the weather in Paris?" },
    { type: "function.call", toolCallId: "D681PevKs", name: "get_weather", arguments: '{"city": "Paris"}' },
    { type: "function.result", toolCallId: "D681PevKs", result: '{"temp": 21}' },
  ]);
  assert.equal(r.outputs.at(-1).type, "message.output");

  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: r.conversationId }));
  const raw = await checkStored(client, history, "entries", "history with tools");
  assert.deepEqual(
    raw.entries.map((e) => e.type),
    ["message.input", "function.call", "function.result", "message.output"],
  );
  const [, call, result] = history.entries;
  assert.equal(call.toolCallId, "D681PevKs");
  assert.equal(call.name, "get_weather");
  assert.equal(call.arguments, '{"city": "Paris"}');
  assert.equal(result.toolCallId, "D681PevKs");
  assert.equal(result.result, '{"temp": 21}');
  assert.ok(result.id, "the server gives the result entry an id");

  const messages = await sdkCall(client.sdk.beta.conversations.getMessages({ conversationId: r.conversationId }));
  const rawMessages = await checkStored(client, messages, "messages", "messages with tools");
  assert.deepEqual(
    rawMessages.messages.map((e) => e.type),
    ["message.input", "message.output"],
    "messages leave out the tool entries",
  );
});

test("function calling, streamed: function.call.delta events", async () => {
  const client = makeClient();
  const stream = await sdkCall(
    client.sdk.beta.conversations.startStream({
      model: MODEL,
      inputs: "Weather in Rome?",
      tools: [weatherTool],
      completionArgs: { toolChoice: "any" },
    }),
  );
  const s = await checkStream(client, stream, "startStream with tools");
  const calls = s.events.filter((e) => e.data.type === "function.call.delta").map((e) => e.data);
  assert.ok(calls.length >= 1, "at least one function.call.delta");
  for (const c of calls) {
    assert.equal(c.id, calls[0].id);
    assert.equal(c.name, "get_weather");
    assert.equal(c.toolCallId, calls[0].toolCallId);
  }
  const args = calls.map((c) => c.arguments).join("");
  assert.doesNotThrow(() => JSON.parse(args), `the argument fragments make JSON: ${args}`);
  const history = await sdkCall(client.sdk.beta.conversations.getHistory({ conversationId: s.conversationId }));
  const stored = history.entries.at(-1);
  assert.equal(stored.type, "function.call");
  assert.equal(stored.id, calls[0].id);
  assert.equal(stored.toolCallId, calls[0].toolCallId);
});
