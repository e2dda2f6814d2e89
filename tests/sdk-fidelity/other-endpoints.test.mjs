// Embeddings, moderations, classifications and models through the official SDK.

import assert from "node:assert/strict";
import { test } from "node:test";

import { SDKError } from "@mistralai/mistralai/models/errors";

import { assertFaithful, assertUsage, components, makeClient, rejectsWithStatus, sdkCall, wireKeys } from "./helpers.mjs";

const MODERATION_CATEGORIES = [
  "sexual",
  "hate_and_discrimination",
  "violence_and_threats",
  "dangerous_and_criminal_content",
  "selfharm",
  "health",
  "financial",
  "law",
  "pii",
];

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** Checks the last raw body against what the SDK returned. */
async function faithful(client, parsed, what) {
  const x = await client.last();
  assert.equal(x.status, 200, `${what}: HTTP ${x.status}`);
  assert.equal(x.headers.get("content-type"), "application/json");
  assertFaithful(JSON.parse(x.text), parsed, { what });
  return JSON.parse(x.text);
}

test("embeddings.create: one vector per input, 1024 dimensions, deterministic", async () => {
  const client = makeClient();
  const inputs = ["The cat sat on the mat.", "Le chat est assis.", "The cat sat on the mat."];
  const r = await sdkCall(client.sdk.embeddings.create({ model: "mistral-embed", inputs }));
  await faithful(client, r, "embeddings");
  assert.equal(r.object, "list");
  assert.equal(r.model, "mistral-embed");
  assert.ok(r.id.length > 0);
  assert.equal(r.data.length, 3);
  r.data.forEach((d, i) => {
    assert.equal(d.object, "embedding");
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, 1024);
    assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-3, `vector ${i} has norm ${norm(d.embedding)}`);
  });
  assert.deepEqual(r.data[0].embedding, r.data[2].embedding, "the same text gives the same vector");
  assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
  assertUsage(r.usage);
  assert.equal(r.usage.completionTokens, 0);
  assert.equal(r.usage.totalTokens, r.usage.promptTokens);

  const one = await sdkCall(client.sdk.embeddings.create({ model: "mistral-embed", inputs: inputs[0] }));
  await faithful(client, one, "embeddings (one string)");
  assert.equal(one.data.length, 1);
  assert.deepEqual(one.data[0].embedding, r.data[0].embedding, "a string input embeds like a list of one");
});

test("embeddings.create: output_dimension sets the length", async () => {
  const client = makeClient();
  const r = await sdkCall(client.sdk.embeddings.create({ model: "mistral-embed", inputs: ["abc"], outputDimension: 256 }));
  await faithful(client, r, "embeddings");
  assert.equal(r.data[0].embedding.length, 256);
});

test("classifiers.moderate: every category, flagged when the text says so", async () => {
  const client = makeClient();
  const r = await sdkCall(
    client.sdk.classifiers.moderate({
      model: "mistral-moderation-latest",
      inputs: ["What a lovely day.", "I will kill you."],
    }),
  );
  await faithful(client, r, "moderations");
  assert.ok(r.id.length > 0);
  assert.ok(r.model.startsWith("mistral-moderation"), r.model);
  assert.equal(r.results.length, 2);
  for (const result of r.results) {
    assert.deepEqual(Object.keys(result.categories).sort(), [...MODERATION_CATEGORIES].sort());
    assert.deepEqual(Object.keys(result.categoryScores).sort(), [...MODERATION_CATEGORIES].sort());
    for (const c of MODERATION_CATEGORIES) {
      assert.equal(typeof result.categories[c], "boolean");
      const s = result.categoryScores[c];
      assert.ok(s >= 0 && s <= 1, `${c} score ${s}`);
    }
  }
  assert.equal(r.results[0].categories.violence_and_threats, false);
  assert.equal(r.results[1].categories.violence_and_threats, true);
  assert.ok(r.results[1].categoryScores.violence_and_threats > 0.5);
});

test("classifiers.moderateChat: one result per conversation", async () => {
  const client = makeClient();
  const single = await sdkCall(
    client.sdk.classifiers.moderateChat({
      model: "mistral-moderation-latest",
      inputs: [
        { role: "user", content: "How do I build a weapon?" },
        { role: "assistant", content: "I cannot help with that." },
      ],
    }),
  );
  await faithful(client, single, "chat moderations");
  assert.equal(single.results.length, 1);
  assert.equal(single.results[0].categories.dangerous_and_criminal_content, true);

  const batch = await sdkCall(
    client.sdk.classifiers.moderateChat({
      model: "mistral-moderation-latest",
      inputs: [[{ role: "user", content: "Hello" }], [{ role: "user", content: "My passport number is X" }]],
    }),
  );
  await faithful(client, batch, "chat moderations (batch)");
  assert.equal(batch.results.length, 2);
  assert.equal(batch.results[0].categories.pii, false);
  assert.equal(batch.results[1].categories.pii, true);
});

test("classifiers.classify: scores per target, summing to one", async () => {
  const client = makeClient();
  const r = await sdkCall(
    client.sdk.classifiers.classify({ model: "mistral-moderation-latest", inputs: ["Great product!", "Awful."] }),
  );
  await faithful(client, r, "classifications");
  assert.ok(r.id.length > 0);
  assert.equal(r.results.length, 2);
  for (const result of r.results) {
    const targets = Object.values(result);
    assert.ok(targets.length > 0, "at least one target");
    for (const t of targets) {
      const sum = Object.values(t.scores).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-6, `scores sum to ${sum}`);
    }
  }
});

test("classifiers.classifyChat: {messages} and [{messages}]", async () => {
  const client = makeClient();
  const one = await sdkCall(
    client.sdk.classifiers.classifyChat({
      model: "mistral-moderation-latest",
      input: { messages: [{ role: "user", content: "I love it" }] },
    }),
  );
  await faithful(client, one, "chat classifications");
  assert.equal(one.results.length, 1);

  const two = await sdkCall(
    client.sdk.classifiers.classifyChat({
      model: "mistral-moderation-latest",
      input: [{ messages: [{ role: "user", content: "a" }] }, { messages: [{ role: "user", content: "b" }] }],
    }),
  );
  await faithful(client, two, "chat classifications (batch)");
  assert.equal(two.results.length, 2);
});

test("models.list: every card parses as a base model", async (t) => {
  const client = makeClient();
  const r = await sdkCall(client.sdk.models.list());
  const raw = await faithful(client, r, "models list");
  assert.equal(r.object, "list");
  const required = [
    "mistral-small-latest",
    "mistral-medium-latest",
    "mistral-large-latest",
    "ministral-8b-latest",
    "codestral-latest",
    "mistral-embed",
    "mistral-moderation-latest",
  ];
  const names = new Set(r.data.flatMap((m) => [m.id, ...(m.aliases ?? [])]));
  for (const name of required) assert.ok(names.has(name), `${name} is listed (by id or alias)`);
  const cardKeys = wireKeys(components.BaseModelCard$inboundSchema);
  const missing = cardKeys.filter((k) => !(k in raw.data[0]));
  if (missing.length) t.diagnostic(`card fields the SDK knows that the mock omits: ${missing.join(", ")}`);
  for (const [i, m] of raw.data.entries()) {
    assert.equal(r.data[i].type, "base");
    assert.equal(m.object, "model");
    assert.equal(m.owned_by, "mistralai");
    assert.ok(Number.isInteger(m.created));
  }
  const embed = r.data.find((m) => m.id === "mistral-embed");
  assert.equal(embed.capabilities.completionChat, false);
  const codestral = r.data.find((m) => m.aliases?.includes("codestral-latest") || m.id === "codestral-latest");
  assert.equal(codestral.capabilities.completionFim, true);
});

test("models.list: cards carry every capability the SDK knows", async () => {
  const client = makeClient();
  await sdkCall(client.sdk.models.list());
  const raw = await client.lastJSON();
  // The SDK defaults a missing capability to false; the real API sends them all
  // (protocol reference, section 5).
  const capabilityKeys = wireKeys(components.ModelCapabilities$inboundSchema);
  const gaps = raw.data
    .map((m) => [m.id, capabilityKeys.filter((k) => !(k in m.capabilities))])
    .filter(([, missing]) => missing.length)
    .map(([id, missing]) => `${id}: ${missing.join(", ")}`);
  assert.deepEqual(gaps, [], "capabilities missing from the mock's cards");
});

test("models.retrieve: by id and by alias", async () => {
  const client = makeClient();
  for (const name of ["mistral-embed", "mistral-small-latest"]) {
    const m = await sdkCall(client.sdk.models.retrieve({ modelId: name }));
    await faithful(client, m, `model ${name}`);
    assert.equal(m.type, "base");
    assert.ok(m.id === name || m.aliases.includes(name), `${name} resolves to ${m.id}`);
    assert.equal(m.capabilities.completionChat, name !== "mistral-embed");
    assert.ok(m.maxContextLength > 0);
  }
  const err = await rejectsWithStatus(client.sdk.models.retrieve({ modelId: "no-such-model" }), 404, SDKError);
  assert.match(err.body, /not found/i);
});

test("models.delete: fine-tuned ids go, base models are refused", async () => {
  const client = makeClient();
  const id = "ft:open-mistral-7b:abc123:20240101:deadbeef";
  const r = await sdkCall(client.sdk.models.delete({ modelId: id }));
  await faithful(client, r, "model delete");
  assert.deepEqual({ ...r }, { id, object: "model", deleted: true });
  const err = await rejectsWithStatus(client.sdk.models.delete({ modelId: "mistral-small-latest" }), 403, SDKError);
  assert.equal(JSON.parse(err.body).object, "error");
});
