// Beta agents through the official SDK: create, versions (update makes one,
// updateVersion switches), aliases, conversations with an agent, delete.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { HTTPValidationError, MistralError, SDKError } from "@mistralai/mistralai/models/errors";

import { checkResponse, checkStream, findConversation } from "./conversation-checks.mjs";
import { assertDateTime, assertFaithful, makeClient, rejectsWithStatus, sdkCall, weatherTool } from "./helpers.mjs";

const MODEL = "mistral-small-latest";

/** Checks the last raw body is the agent the SDK returned, with every required field. */
async function checkAgent(client, agent, what) {
  const x = await client.last();
  assert.equal(x.status, 200, `${what}: HTTP ${x.status}: ${x.text.slice(0, 300)}`);
  const raw = JSON.parse(x.text);
  assertFaithful(raw, agent, { what });
  checkRawAgent(raw, what);
  return raw;
}

function checkRawAgent(raw, what) {
  assert.equal(raw.object, "agent", `${what}: object`);
  assert.match(raw.id, /^ag_[0-9a-f]+$/, `${what}: id`);
  assert.ok(Number.isInteger(raw.version), `${what}: version`);
  assert.ok(Array.isArray(raw.versions) && raw.versions.includes(raw.version), `${what}: versions ${raw.versions}`);
  assert.equal(typeof raw.deployment_chat, "boolean", `${what}: deployment_chat`);
  assert.equal(typeof raw.source, "string", `${what}: source`);
  assertDateTime(raw.created_at, `${what}.created_at`);
  assertDateTime(raw.updated_at, `${what}.updated_at`);
}

/** Creates an agent with a unique name; returns it. */
async function create(client, extra = {}) {
  const agent = await sdkCall(
    client.sdk.beta.agents.create({
      model: MODEL,
      name: `fidelity-${randomUUID()}`,
      description: "an agent for the fidelity test",
      instructions: "v0 instructions",
      tools: [weatherTool],
      completionArgs: { temperature: 0.3 },
      metadata: { suite: "sdk-fidelity" },
      versionMessage: "first",
      ...extra,
    }),
  );
  await checkAgent(client, agent, "create");
  return agent;
}

test("create: version 0 with every field echoed", async () => {
  const client = makeClient();
  const agent = await create(client);
  assert.equal(agent.version, 0);
  assert.deepEqual(agent.versions, [0]);
  assert.equal(agent.model, MODEL);
  assert.equal(agent.instructions, "v0 instructions");
  assert.equal(agent.description, "an agent for the fidelity test");
  assert.equal(agent.tools.length, 1);
  assert.equal(agent.tools[0].type, "function");
  assert.equal(agent.tools[0].function.name, "get_weather");
  assert.deepEqual(agent.tools[0].function.parameters, weatherTool.function.parameters);
  assert.equal(agent.completionArgs.temperature, 0.3);
  assert.deepEqual(agent.metadata, { suite: "sdk-fidelity" });
  assert.equal(agent.versionMessage, "first");
  assert.equal(agent.deploymentChat, false);
  assert.equal(agent.source, "api");
  assert.ok(agent.updatedAt >= agent.createdAt);
});

test("list and get: the agent is found, by id and by version", async () => {
  const client = makeClient();
  const agent = await create(client);
  const list = await sdkCall(client.sdk.beta.agents.list({ pageSize: 1000 }));
  assert.ok(list.length < 1000, "more agents than one page holds: restart the mock");
  const raw = await client.lastJSON();
  assert.ok(Array.isArray(raw), "list returns a bare JSON array");
  assertFaithful(raw, list, { what: "agents list" });
  raw.forEach((a, i) => checkRawAgent(a, `list[${i}]`));
  assert.ok(list.some((a) => a.id === agent.id), "the new agent is listed");

  const got = await sdkCall(client.sdk.beta.agents.get({ agentId: agent.id }));
  await checkAgent(client, got, "get");
  assert.equal(got.id, agent.id);
  assert.equal(got.name, agent.name);
  assert.equal(got.version, 0);
  assert.equal(got.createdAt.getTime(), agent.createdAt.getTime());

  const byVersion = await sdkCall(client.sdk.beta.agents.get({ agentId: agent.id, agentVersion: 0 }));
  await checkAgent(client, byVersion, "get version 0");
  assert.equal(byVersion.version, 0);
});

test("list: filtered by name", async () => {
  const client = makeClient();
  const agent = await create(client);
  await create(client);
  const list = await sdkCall(client.sdk.beta.agents.list({ name: agent.name }));
  assert.deepEqual(
    list.map((a) => a.id),
    [agent.id],
  );
});

test("update, listVersions, getVersion, updateVersion: versions count up and switch", async () => {
  const client = makeClient();
  const agent = await create(client);

  const v1 = await sdkCall(
    client.sdk.beta.agents.update({
      agentId: agent.id,
      updateAgentRequest: { instructions: "v1 instructions", versionMessage: "second" },
    }),
  );
  await checkAgent(client, v1, "update");
  assert.equal(v1.id, agent.id);
  assert.equal(v1.version, 1, "update makes version 1");
  assert.deepEqual(v1.versions, [0, 1]);
  assert.equal(v1.instructions, "v1 instructions");
  assert.equal(v1.versionMessage, "second");
  assert.equal(v1.name, agent.name, "fields not sent are kept");
  assert.equal(v1.model, agent.model);
  assert.equal(v1.tools.length, 1);
  assert.ok(v1.updatedAt >= agent.updatedAt);

  const v2 = await sdkCall(
    client.sdk.beta.agents.update({ agentId: agent.id, updateAgentRequest: { description: "third" } }),
  );
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.versions, [0, 1, 2]);
  assert.equal(v2.instructions, "v1 instructions");

  const current = await sdkCall(client.sdk.beta.agents.get({ agentId: agent.id }));
  assert.equal(current.version, 2, "the new version is current");

  const versions = await sdkCall(client.sdk.beta.agents.listVersions({ agentId: agent.id }));
  const raw = await client.lastJSON();
  assert.ok(Array.isArray(raw));
  assertFaithful(raw, versions, { what: "listVersions" });
  raw.forEach((a, i) => checkRawAgent(a, `versions[${i}]`));
  assert.deepEqual(versions.map((a) => a.version).sort(), [0, 1, 2]);
  const byVersion = Object.fromEntries(versions.map((a) => [a.version, a]));
  assert.equal(byVersion[0].instructions, "v0 instructions");
  assert.equal(byVersion[1].instructions, "v1 instructions");
  assert.equal(byVersion[2].description, "third");

  const v0 = await sdkCall(client.sdk.beta.agents.getVersion({ agentId: agent.id, version: "0" }));
  await checkAgent(client, v0, "getVersion");
  assert.equal(v0.version, 0);
  assert.equal(v0.instructions, "v0 instructions");
  assert.equal(v0.versionMessage, "first");

  const switched = await sdkCall(client.sdk.beta.agents.updateVersion({ agentId: agent.id, version: 0 }));
  await checkAgent(client, switched, "updateVersion");
  assert.equal(switched.version, 0);
  assert.equal(switched.instructions, "v0 instructions");
  assert.deepEqual(switched.versions, [0, 1, 2], "switching makes no new version");
  const after = await sdkCall(client.sdk.beta.agents.get({ agentId: agent.id }));
  assert.equal(after.version, 0, "the switched-to version is current");

  await assert.rejects(client.sdk.beta.agents.updateVersion({ agentId: agent.id, version: 9 }), (err) => {
    assert.ok(err instanceof MistralError, String(err));
    assert.ok(err.statusCode >= 400 && err.statusCode < 500, `status ${err.statusCode}`);
    return true;
  });
});

test("aliases: create, list, resolve, re-point, delete", async () => {
  const client = makeClient();
  const agent = await create(client);
  await sdkCall(client.sdk.beta.agents.update({ agentId: agent.id, updateAgentRequest: { instructions: "v1 instructions" } }));

  const alias = await sdkCall(client.sdk.beta.agents.createVersionAlias({ agentId: agent.id, alias: "stable", version: 0 }));
  const raw = await client.lastJSON();
  assertFaithful(raw, alias, { what: "createVersionAlias" });
  assert.deepEqual(Object.keys(raw).sort(), ["alias", "created_at", "updated_at", "version"]);
  assert.equal(alias.alias, "stable");
  assert.equal(alias.version, 0);
  assertDateTime(raw.created_at, "alias created_at");

  const viaAlias = await sdkCall(client.sdk.beta.agents.get({ agentId: agent.id, agentVersion: "stable" }));
  assert.equal(viaAlias.version, 0, "get resolves the alias");
  assert.equal(viaAlias.instructions, "v0 instructions");

  const moved = await sdkCall(client.sdk.beta.agents.createVersionAlias({ agentId: agent.id, alias: "stable", version: 1 }));
  assert.equal(moved.version, 1, "PUT re-points an existing alias");
  assert.equal(moved.createdAt.getTime(), alias.createdAt.getTime(), "re-pointing keeps created_at");
  assert.ok(moved.updatedAt >= alias.updatedAt);
  await sdkCall(client.sdk.beta.agents.createVersionAlias({ agentId: agent.id, alias: "beta-2", version: 0 }));

  const aliases = await sdkCall(client.sdk.beta.agents.listVersionAliases({ agentId: agent.id }));
  const rawList = await client.lastJSON();
  assert.ok(Array.isArray(rawList));
  assertFaithful(rawList, aliases, { what: "listVersionAliases" });
  assert.deepEqual(
    aliases.map((a) => [a.alias, a.version]).sort(),
    [
      ["beta-2", 0],
      ["stable", 1],
    ],
  );
  const resolved = await sdkCall(client.sdk.beta.agents.get({ agentId: agent.id, agentVersion: "stable" }));
  assert.equal(resolved.version, 1, "the alias follows the re-point");

  const gone = await sdkCall(client.sdk.beta.agents.deleteVersionAlias({ agentId: agent.id, alias: "stable" }));
  assert.equal(gone, undefined);
  assert.equal((await client.last()).status, 204);
  const left = await sdkCall(client.sdk.beta.agents.listVersionAliases({ agentId: agent.id }));
  assert.deepEqual(
    left.map((a) => a.alias),
    ["beta-2"],
  );
  await assert.rejects(client.sdk.beta.agents.get({ agentId: agent.id, agentVersion: "stable" }), (err) => {
    assert.ok(err instanceof MistralError, String(err));
    assert.ok(err.statusCode >= 400 && err.statusCode < 500, `status ${err.statusCode}`);
    return true;
  });
});

test("aliases: a name outside ^[a-z]([a-z0-9_-]*[a-z0-9])?$ is refused with 422", async () => {
  const client = makeClient();
  const agent = await create(client);
  const err = await rejectsWithStatus(
    client.sdk.beta.agents.createVersionAlias({ agentId: agent.id, alias: "Not Valid", version: 0 }),
    422,
    HTTPValidationError,
  );
  assert.ok(err.detail.some((d) => d.loc.includes("alias")), JSON.stringify(err.detail));
});

test("conversations with an agent: start by id and alias, stream, get", async () => {
  const client = makeClient();
  const agent = await create(client);
  await sdkCall(client.sdk.beta.agents.update({ agentId: agent.id, updateAgentRequest: { instructions: "v1" } }));
  await sdkCall(client.sdk.beta.agents.createVersionAlias({ agentId: agent.id, alias: "prod", version: 0 }));

  const r = await sdkCall(client.sdk.beta.conversations.start({ agentId: agent.id, inputs: "Hello agent" }));
  await checkResponse(client, r, "start with agent");
  const [out] = r.outputs;
  assert.equal(out.type, "message.output");
  assert.equal(out.agentId, agent.id, "the reply names the agent");

  const conv = await sdkCall(client.sdk.beta.conversations.get({ conversationId: r.conversationId }));
  const raw = await client.lastJSON();
  assertFaithful(raw, conv, { what: "get agent conversation" });
  assert.equal(conv.agentId, agent.id);
  assert.ok(!("model" in raw), "an agent conversation has agent_id, not model");
  assert.ok([1, null, undefined].includes(conv.agentVersion), `agent_version ${conv.agentVersion}: the current version (1) or none`);

  const pinned = await sdkCall(
    client.sdk.beta.conversations.start({ agentId: agent.id, agentVersion: "prod", inputs: "Hello again" }),
  );
  await checkResponse(client, pinned, "start with agent alias");
  const pinnedConv = await sdkCall(client.sdk.beta.conversations.get({ conversationId: pinned.conversationId }));
  assert.ok(
    pinnedConv.agentVersion === 0 || pinnedConv.agentVersion === "prod",
    `agent_version for an alias: ${JSON.stringify(pinnedConv.agentVersion)}`,
  );

  const stream = await sdkCall(client.sdk.beta.conversations.startStream({ agentId: agent.id, inputs: "Stream please" }));
  const s = await checkStream(client, stream, "startStream with agent");
  for (const d of s.deltas) assert.equal(d.agentId, agent.id, "deltas name the agent");

  const listed = await findConversation(client, r.conversationId);
  assert.ok(listed && listed.agentId === agent.id, "list returns it as an agent conversation");
});

test("delete: 204, then the agent is gone (404)", async () => {
  const client = makeClient();
  const agent = await create(client);
  const deleted = await sdkCall(client.sdk.beta.agents.delete({ agentId: agent.id }));
  assert.equal(deleted, undefined);
  const x = await client.last();
  assert.equal(x.status, 204);
  assert.equal(x.text, "");
  await rejectsWithStatus(client.sdk.beta.agents.get({ agentId: agent.id }), 404, SDKError);
  await rejectsWithStatus(client.sdk.beta.agents.listVersions({ agentId: agent.id }), 404, SDKError);
  await rejectsWithStatus(
    client.sdk.beta.conversations.start({ agentId: agent.id, inputs: "anyone there?" }),
    404,
    SDKError,
  );
});

test("create: an unknown model is refused with 400 invalid_model", async () => {
  const client = makeClient();
  const err = await rejectsWithStatus(
    client.sdk.beta.agents.create({ model: "no-such-model", name: "x" }),
    400,
    SDKError,
  );
  assert.equal(JSON.parse(err.body).code, "1500");
});

test("listPages: cursor pages of {object: list, data, next_page_token}, followed by the SDK", async () => {
  const client = makeClient();
  const a = await create(client);
  const b = await create(client);
  const start = client.exchanges.length;
  const seen = [];
  let pages = 0;
  for await (const page of await sdkCall(client.sdk.beta.agents.listPages({ pageSize: 1 }))) {
    assert.equal(page.result.object, "list");
    assert.ok(page.result.data.length <= 1, "page_size is obeyed");
    seen.push(...page.result.data.map((x) => x.id));
    assert.ok(++pages < 1000, "the cursor never ends");
  }
  const exchanges = client.exchanges.slice(start);
  assert.equal(exchanges.length, pages);
  for (const [i, x] of exchanges.entries()) {
    const raw = JSON.parse(await x.text);
    assert.deepEqual(Object.keys(raw).sort(), ["data", "next_page_token", "object"], `page ${i} fields`);
    raw.data.forEach((ag, j) => checkRawAgent(ag, `page ${i} data[${j}]`));
    if (i < exchanges.length - 1) assert.equal(typeof raw.next_page_token, "string", `page ${i} has a next token`);
  }
  assert.equal(JSON.parse(await exchanges.at(-1).text).next_page_token, null, "the last page has no token");
  assert.equal(new Set(seen).size, seen.length, "no agent is listed twice");
  assert.ok(seen.includes(a.id) && seen.includes(b.id), "every agent is reached");
});
