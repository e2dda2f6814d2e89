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
  // The bodies survive JSON.parse as written (no 2.0, which JS would send as 2), so
  // mistral-common's counts hold for what a JS caller sends.
  // A model of each template version (the model itself is not part of the prompt).
  const models = {
    v3: "open-mistral-nemo",
    v7: "mistral-small-2503",
    v11: "mistral-small-2506",
    v13: "ministral-3b-2512",
    v15: "mistral-small-2603",
  };
  let exact = 0;
  for (const [file, byVersion] of Object.entries(chats)) {
    const body = JSON.parse(readFileSync(new URL(`chats/${file}`, dir), "utf8"));
    for (const [version, count] of Object.entries(byVersion)) {
      const ours = await pkg.countChatTokens({ ...body, model: models[version] });
      if (count === null) {
        // mistral-common refuses it (so would the server): the client still reserves an estimate.
        assert.ok(ours > 0, `${file} ${version}`);
      } else {
        assert.equal(ours, count, `${file} ${version}`);
        exact += 1;
      }
    }
  }
  assert.ok(exact >= 60, `only ${exact} exact cases`);
});

test("countChatTokens bounds a SentencePiece model's prompt from above on every corpus file", async () => {
  const measured = JSON.parse(readFileSync(new URL("sentencepiece.json", dir), "utf8")).versions.v7;
  assert.ok(measured.models.includes("mistral-large-2411"));
  for (const [file, { sentencepiece }] of Object.entries(measured.ratios)) {
    const text = readFileSync(new URL(`corpus/${file}`, dir), "utf8");
    const request = { model: "mistral-large-2411", messages: [{ role: "user", content: text }] };
    const bound = await pkg.countChatTokens(request);
    assert.ok(bound >= sentencepiece, `${file}: ${bound} < ${sentencepiece}`);
    // Tekken's count times the measured multiplier, not a blind one.
    const tekken = await pkg.countChatTokens({ ...request, model: "unknown-model" });
    const multiplier = measured.latin.files.includes(file) ? measured.latin.multiplier : measured.multiplier;
    assert.equal(bound, Math.ceil(tekken * multiplier), file);
  }
});
