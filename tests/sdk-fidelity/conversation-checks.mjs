// Checks shared by the conversation and agent tests: a conversation reply, a
// conversation event stream, and stored entries, each against the protocol
// reference (section 2) and against what the SDK parsed.

import assert from "node:assert/strict";

import { assertDateTime, assertFaithful, drain, parseSSE } from "./helpers.mjs";

export const ENTRY_TYPES = [
  "message.input",
  "message.output",
  "function.call",
  "function.result",
  "tool.execution",
  "agent.handoff",
];
const OUTPUT_TYPES = ["message.output", "tool.execution", "function.call", "agent.handoff"];
export const EVENT_TYPES = [
  "conversation.response.started",
  "conversation.response.done",
  "conversation.response.error",
  "message.output.delta",
  "tool.execution.started",
  "tool.execution.delta",
  "tool.execution.done",
  "agent.handoff.started",
  "agent.handoff.done",
  "function.call.delta",
];
const ID_PREFIX = { "message.input": "msg_", "message.output": "msg_", "function.call": "fc_", "tool.execution": "tool_exec_" };

/** Checks one stored or returned entry, raw and parsed. */
export function checkEntry(raw, entry, where) {
  assert.ok(ENTRY_TYPES.includes(raw.type), `${where}: entry type ${raw.type}`);
  assert.equal(entry.type, raw.type, `${where}: the SDK read it as ${entry.type}`);
  assert.equal(raw.object, "entry", `${where}: object`);
  assert.equal(typeof raw.id, "string", `${where}: id`);
  if (ID_PREFIX[raw.type]) assert.ok(raw.id.startsWith(ID_PREFIX[raw.type]), `${where}: id ${raw.id}`);
  assertDateTime(raw.created_at, `${where}.created_at`);
  if (raw.completed_at != null) {
    assertDateTime(raw.completed_at, `${where}.completed_at`);
    assert.ok(entry.completedAt >= entry.createdAt, `${where}: completed before it was created`);
  }
  if (raw.type === "message.output") {
    assert.equal(raw.role, "assistant", `${where}: role`);
    assert.ok(typeof raw.content === "string" || Array.isArray(raw.content), `${where}: content`);
    assert.ok(raw.model || raw.agent_id, `${where}: a message.output names its model or agent`);
  }
  if (raw.type === "message.input") assert.ok(["user", "assistant"].includes(raw.role), `${where}: role ${raw.role}`);
  if (raw.type === "function.call") {
    assert.equal(typeof raw.tool_call_id, "string");
    assert.equal(typeof raw.name, "string");
    assert.ok(typeof raw.arguments === "string" || typeof raw.arguments === "object", `${where}: arguments`);
  }
}

/** The text of a message entry's content (a string or chunks). */
export function textOf(content) {
  if (typeof content === "string") return content;
  return content.map((c) => (c.type === "text" ? c.text : "")).join("");
}

/**
 * Checks a non-stream conversation reply (`ConversationResponse`) with the raw body
 * of the client's last exchange; returns the parsed reply.
 */
export async function checkResponse(client, r, what = "conversation response") {
  const x = await client.last();
  assert.equal(x.status, 200, `${what}: HTTP ${x.status}: ${x.text.slice(0, 300)}`);
  assert.equal(x.headers.get("content-type"), "application/json");
  const raw = JSON.parse(x.text);
  assertFaithful(raw, r, { what });
  assert.equal(raw.object, "conversation.response");
  assert.match(r.conversationId, /^conv_[0-9a-f]+$/);
  assert.ok(r.outputs.length >= 1, `${what}: no outputs`);
  raw.outputs.forEach((e, i) => {
    assert.ok(OUTPUT_TYPES.includes(e.type), `${what}: outputs[${i}] may not be ${e.type}`);
    checkEntry(e, r.outputs[i], `${what}.outputs[${i}]`);
  });
  checkConversationUsage(r.usage, what);
  return raw;
}

export function checkConversationUsage(u, what) {
  for (const k of ["promptTokens", "completionTokens", "totalTokens"]) {
    assert.ok(Number.isInteger(u[k]) && u[k] >= 0, `${what}: usage.${k} = ${u[k]}`);
  }
  assert.ok(u.promptTokens > 0, `${what}: usage.prompt_tokens is 0`);
  assert.ok(u.completionTokens > 0, `${what}: usage.completion_tokens is 0`);
  assert.equal(u.totalTokens, u.promptTokens + u.completionTokens + (u.connectorTokens ?? 0), `${what}: usage adds up`);
}

/**
 * Drains a conversation stream and checks it: `event:` + `data:` frames whose
 * event name repeats `type`, started first, done (with usage) last, no [DONE],
 * message deltas of one entry. Returns `{conversationId, events, deltas, text,
 * usage, messageId}`.
 */
export async function checkStream(client, stream, what = "conversation stream") {
  const events = await drain(stream);
  const x = await client.last();
  assert.equal(x.status, 200, `${what}: HTTP ${x.status}`);
  assert.equal(x.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const frames = parseSSE(x.text);
  assert.ok(!frames.some((f) => f.data === "[DONE]"), `${what}: conversation streams send no [DONE]`);
  assert.equal(events.length, frames.length, `${what}: one SDK event per frame`);
  frames.forEach((f, i) => {
    assert.ok(f.event, `${what}: frame ${i} has no event: line (the SDK requires it)`);
    const data = JSON.parse(f.data);
    assertFaithful({ event: f.event, data }, events[i], { what: `${what} frame ${i}` });
    assert.ok(EVENT_TYPES.includes(f.event), `${what}: frame ${i}: unknown event ${f.event}`);
    assert.equal(f.event, data.type, `${what}: frame ${i}: event name and data.type differ`);
    if (data.created_at !== undefined) assertDateTime(data.created_at, `${what} frame ${i} created_at`);
  });

  const types = events.map((e) => e.data.type);
  assert.equal(types[0], "conversation.response.started", `${what}: first event`);
  assert.equal(types.at(-1), "conversation.response.done", `${what}: last event`);
  assert.equal(types.filter((t) => t === "conversation.response.started").length, 1);
  assert.equal(types.filter((t) => t === "conversation.response.done").length, 1);
  const conversationId = events[0].data.conversationId;
  assert.match(conversationId, /^conv_[0-9a-f]+$/);
  const usage = events.at(-1).data.usage;
  checkConversationUsage(usage, what);

  const deltas = events.filter((e) => e.data.type === "message.output.delta").map((e) => e.data);
  for (const d of deltas) {
    assert.equal(d.id, deltas[0].id, `${what}: deltas of one message share its id`);
    assert.match(d.id, /^msg_/);
    assert.equal(d.role, "assistant");
    assert.equal(d.contentIndex, 0);
    assert.equal(d.outputIndex, deltas[0].outputIndex);
    assert.equal(typeof d.content, "string");
    assert.ok(d.model || d.agentId, `${what}: a delta names its model or agent`);
  }
  const text = deltas.map((d) => d.content).join("");
  return { conversationId, events, deltas, text, usage, messageId: deltas[0]?.id };
}

/**
 * Checks a stored entry list (`getHistory`: key "entries", `getMessages`: key
 * "messages") against the raw body of the last exchange; returns the raw body.
 */
export async function checkStored(client, parsed, key, what) {
  const x = await client.last();
  assert.equal(x.status, 200, `${what}: HTTP ${x.status}: ${x.text.slice(0, 300)}`);
  const raw = JSON.parse(x.text);
  assertFaithful(raw, parsed, { what });
  assert.equal(raw.object, key === "entries" ? "conversation.history" : "conversation.messages");
  raw[key].forEach((e, i) => checkEntry(e, parsed[key][i], `${what}[${i}]`));
  return raw;
}

/** Pages through `conversations.list` until `id` turns up; returns it (or undefined). */
export async function findConversation(client, id) {
  for (let page = 0; page < 50; page++) {
    const list = await client.sdk.beta.conversations.list({ page, pageSize: 100 });
    const found = list.find((c) => c.id === id);
    if (found || list.length < 100) return found;
  }
  return undefined;
}
