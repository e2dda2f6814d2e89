// Exact Tekken counts in wasm, against mistral-common's own (the corpus the native
// test checks too), and the client's estimator switching to them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";

import { chatRequest, client, pkg } from "./helpers.mjs";

const dir = new URL("../tekken/", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("expected.json", dir), "utf8")).counts;

test("countTokens equals mistral-common on every corpus file", async () => {
  const files = readdirSync(new URL("corpus/", dir));
  assert.ok(files.length >= 16);
  for (const file of files) {
    const text = readFileSync(new URL(`corpus/${file}`, dir), "utf8");
    assert.equal(await pkg.countTokens(text), expected[file], file);
  }
});

test("a client with tokenizer tekken estimates with it once loaded", async () => {
  const events = [];
  const c = client(process.env.MISTRAL_MOCK_URL, { tokenizer: "tekken", onEvent: (e) => e.type === "queued" && events.push(e.estimate) });
  const request = chatRequest(10, "日本語のテキストと français, mêlés");
  await c.chat.complete(request); // starts loading the vocabulary
  await pkg.countTokens(""); // the same counter, now surely loaded
  await c.chat.complete(request);
  assert.equal(events.at(-1), (await pkg.countChatTokens(request)) + 10);
  assert.throws(() => new pkg.MistralRatelimitClient({ apiKey: "k", tokenizer: "cl100k" }), (e) => e instanceof pkg.ConfigError);
});

test("countChatTokens equals mistral-common's chat templates on every chat and conversation body", async () => {
  const chats = JSON.parse(readFileSync(new URL("chat_expected.json", dir), "utf8")).counts;
  // A model of each template version (the model itself is not part of the prompt).
  const models = { v7: "mistral-small-2503", v11: "mistral-small-2506", v13: "ministral-3b-2512" };
  for (const [file, byVersion] of Object.entries(chats)) {
    const body = JSON.parse(readFileSync(new URL(`chats/${file}`, dir), "utf8"));
    for (const [version, count] of Object.entries(byVersion)) {
      assert.equal(await pkg.countChatTokens({ ...body, model: models[version] }), count, `${file} ${version}`);
    }
  }
});
