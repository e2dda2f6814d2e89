// Error replies as the official SDK sees them: 422 validation errors, 400 invalid
// model, 401 bad key, 402 spent spending limit, and the retryable statuses (429,
// 5xx, capacity as either).

import assert from "node:assert/strict";
import { test } from "node:test";

import { HTTPValidationError, MistralError, SDKError } from "@mistralai/mistralai/models/errors";

import { assertFaithful, components, makeClient, mockURL, rejectsWithStatus, sdkCall, startMock } from "./helpers.mjs";

const messages = [{ role: "user", content: "Hello" }];

test("422 on an unknown field (raw fetch: the SDK strips unknown fields)", async () => {
  // The SDK's request schemas drop fields they do not know, so it cannot send one.
  const client = makeClient();
  await sdkCall(client.sdk.chat.complete({ model: "mistral-small-latest", messages, maxCompletionTokens: 5 }));
  const sent = JSON.parse((await client.last()).requestText);
  assert.ok(!("max_completion_tokens" in sent) && !("maxCompletionTokens" in sent), "the SDK dropped the field");

  const response = await fetch(`${mockURL()}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: "Bearer test-key", "content-type": "application/json" },
    body: JSON.stringify({ model: "mistral-small-latest", messages, max_completion_tokens: 5, store: false }),
  });
  assert.equal(response.status, 422);
  assert.equal(response.headers.get("content-type"), "application/json");
  const body = await response.json();
  assert.deepEqual(Object.keys(body), ["detail"], "plain FastAPI shape");
  const fields = body.detail.map((d) => d.loc.join("."));
  assert.deepEqual(fields.sort(), ["body.max_completion_tokens", "body.store"]);
  for (const d of body.detail) {
    assert.equal(d.type, "extra_forbidden");
    assert.equal(d.msg, "Extra inputs are not permitted");
    const parsed = components.ValidationError$inboundSchema.parse(d);
    assertFaithful(d, parsed, { what: "422 detail item" });
  }
  assert.equal(body.detail.find((d) => d.loc[1] === "store").input, false, "input echoes the value");
});

test("422 through the SDK: HTTPValidationError with the detail list", async () => {
  const client = makeClient();
  const err = await rejectsWithStatus(
    client.sdk.chat.complete({ model: "mistral-small-latest", messages: [] }),
    422,
    HTTPValidationError,
  );
  assert.ok(err instanceof MistralError);
  assert.ok(Array.isArray(err.detail) && err.detail.length >= 1, "detail is parsed");
  assert.deepEqual(err.detail[0].loc, ["body", "messages"]);
  assert.equal(typeof err.detail[0].msg, "string");
  assert.equal(typeof err.detail[0].type, "string");
  assertFaithful(JSON.parse(err.body), { detail: err.detail }, { what: "422 body" });

  const err2 = await rejectsWithStatus(
    client.sdk.embeddings.create({ model: "mistral-embed", inputs: ["x"], outputDimension: 99_999 }),
    422,
    HTTPValidationError,
  );
  assert.deepEqual(err2.detail[0].loc, ["body", "output_dimension"]);
});

test("400 invalid model: SDKError with code 1500, plain and streaming", async () => {
  const client = makeClient();
  const err = await rejectsWithStatus(
    client.sdk.chat.complete({ model: "no-such-model", messages }),
    400,
    SDKError,
  );
  assert.ok(err instanceof MistralError);
  assert.equal(err.contentType, "application/json");
  assert.deepEqual(JSON.parse(err.body), {
    object: "error",
    message: "Invalid model: no-such-model",
    type: "invalid_model",
    param: null,
    code: "1500",
  });
  assert.match(err.message, /Status 400/);
  assert.match(err.message, /1500/);

  // A stream call fails before any event: the error is a JSON reply, not SSE.
  const err2 = await rejectsWithStatus(client.sdk.chat.stream({ model: "no-such-model", messages }), 400, SDKError);
  assert.equal(JSON.parse(err2.body).code, "1500");
  const err3 = await rejectsWithStatus(
    client.sdk.embeddings.create({ model: "mistral-small-latest", inputs: "x" }),
    400,
    SDKError,
  );
  assert.equal(JSON.parse(err3.body).code, "1500", "a chat model cannot embed");
});

test("429 and 5xx surface as SDKError (retries are off by default)", async () => {
  const client = makeClient({ faults: ["429", "503", "500"] });
  const e429 = await rejectsWithStatus(client.sdk.chat.complete({ model: "mistral-small-latest", messages }), 429, SDKError);
  const body = JSON.parse(e429.body);
  assert.equal(body.object, "error");
  assert.equal(body.code, "1300");
  assert.equal(body.type, "rate_limited");
  assert.equal(e429.headers.get("retry-after"), null, "no Retry-After unless configured");
  await rejectsWithStatus(client.sdk.models.list(), 503, SDKError);
  await rejectsWithStatus(client.sdk.embeddings.create({ model: "mistral-embed", inputs: "x" }), 500, SDKError);
  assert.equal(client.exchanges.length, 3, "one request each: no retries");
});

test("with backoff configured the SDK retries a 503 and a 429, then succeeds", async () => {
  const client = makeClient({
    faults: ["503", "429-retry-after"],
    retryConfig: {
      strategy: "backoff",
      backoff: { initialInterval: 10, maxInterval: 2000, exponent: 1.5, maxElapsedTime: 10_000 },
      retryConnectionErrors: false,
    },
  });
  const r = await sdkCall(client.sdk.chat.complete({ model: "mistral-small-latest", messages }));
  assert.equal(r.object, "chat.completion");
  assert.deepEqual(
    client.exchanges.map((x) => x.status),
    [503, 429, 200],
  );
  assert.equal(client.exchanges[1].headers.get("retry-after"), "1");
});

test("401 on a wrong key, against a mock started with --api-key", async (t) => {
  const mock = await startMock(["--api-key", "right-key", "--stream-tokens-per-second", "5000"]);
  t.after(() => mock.stop());
  const wrong = makeClient({ serverURL: mock.url, apiKey: "wrong-key" });
  const err = await rejectsWithStatus(wrong.sdk.chat.complete({ model: "mistral-small-latest", messages }), 401, SDKError);
  assert.deepEqual(JSON.parse(err.body), { detail: "Unauthorized" });
  await rejectsWithStatus(wrong.sdk.chat.stream({ model: "mistral-small-latest", messages }), 401, SDKError);
  await rejectsWithStatus(wrong.sdk.models.list(), 401, SDKError);

  const right = makeClient({ serverURL: mock.url, apiKey: "right-key" });
  const ok = await sdkCall(right.sdk.models.list());
  assert.ok(ok.data.length > 0, "the right key is let in");
});

test("a spent spending limit is a 402 SDKError, plain and streaming", async (t) => {
  const resetsAt = "2031-02-01T00:00:00Z";
  const mock = await startMock(["--spending-limit", "0", "--spending-reset-at", resetsAt, "--stream-tokens-per-second", "5000"]);
  t.after(() => mock.stop());
  const client = makeClient({ serverURL: mock.url });
  const err = await rejectsWithStatus(client.sdk.chat.complete({ model: "mistral-small-latest", messages }), 402, SDKError);
  assert.ok(err instanceof MistralError);
  assert.equal(err.contentType, "application/json");
  assert.deepEqual(JSON.parse(err.body), {
    object: "error",
    message: `Spending limit reached: this workspace's limit of 0 tokens is spent; it resets at ${resetsAt}.`,
    type: "spending_limit_reached",
    param: null,
    code: null,
    raw_status_code: 402,
  });
  assert.match(err.message, /Status 402/);
  await rejectsWithStatus(client.sdk.chat.stream({ model: "mistral-small-latest", messages }), 402, SDKError);
  await rejectsWithStatus(client.sdk.embeddings.create({ model: "mistral-embed", inputs: "x" }), 402, SDKError);
});

test("capacity as a 503 and the final invalid_model surface as SDKError with their bodies", async () => {
  const client = makeClient({ faults: ["capacity-503", "invalid-model"] });
  const e503 = await rejectsWithStatus(client.sdk.chat.complete({ model: "mistral-large-latest", messages }), 503, SDKError);
  assert.deepEqual(JSON.parse(e503.body), {
    object: "error",
    message: "Service tier capacity exceeded for this model.",
    type: "service_tier_capacity_exceeded",
    param: null,
    code: "3505",
    raw_status_code: 503,
  });
  const e400 = await rejectsWithStatus(client.sdk.chat.complete({ model: "mistral-large-latest", messages }), 400, SDKError);
  assert.deepEqual(JSON.parse(e400.body), {
    object: "error",
    message: "Invalid model: mistral-large-2411",
    type: "invalid_model",
    param: null,
    code: "1500",
    raw_status_code: 400,
  });
  assert.match(e400.message, /Status 400/);
  assert.equal(client.exchanges.length, 2, "one request each: no retries");
});

test("a saturated service tier's 429 surfaces as SDKError with Mistral's body", async () => {
  const client = makeClient({ faults: ["capacity"] });
  const e = await rejectsWithStatus(client.sdk.chat.complete({ model: "mistral-large-latest", messages }), 429, SDKError);
  const body = JSON.parse(e.body);
  assert.equal(body.type, "service_tier_capacity_exceeded");
  assert.equal(body.code, "3505");
  assert.match(body.message, /capacity exceeded/);
});
