// A deadline nothing escapes: a call stopped in each state it can be in (queued,
// sending with no answer, a head whose body stalls, a stream gone silent) ends in
// its typed error within its bound plus a small slack, and leaves nothing held.
// The states after the reply (at EOF, settling) are aborts.test.mjs's.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, pkg, withServer } from "./helpers.mjs";

const BOUND = 300;
const SLACK = 250;
const EVENT = `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] })}\n\n`;

// The first segment of the path picks where the server stalls.
const STALLS = {
  // Never answers.
  head: () => {},
  // A head, and half a body.
  body: (res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "200" });
    res.write('{"id":"x",');
  },
  // A stream's first event, then silence.
  stream: (res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(EVENT);
  },
};

const stalling = (body) => withServer((req, res) => STALLS[req.url.split("/")[1]](res), body);

/** Runs `call(c, signal)` against the stall `where`, stopped by `how`; the error and how long it took. */
async function stopped(url, where, how, call) {
  const c = client(`${url}/${where}`, { maxRetries: 0, timeoutMs: how === "timeout" ? BOUND : 60_000, streamIdleTimeoutMs: how === "timeout" ? BOUND : 60_000 });
  const abort = new AbortController();
  if (how === "abort") setTimeout(() => abort.abort(), BOUND);
  const started = performance.now();
  const error = await call(c, abort.signal).then(() => null, (e) => e);
  return { c, error, took: performance.now() - started };
}

const plain = (c, signal) => c.chat.complete(chatRequest(4), { signal });
const streamed = async (c, signal) => {
  for await (const _ of c.chat.stream(chatRequest(4), { signal }));
};

for (const [where, call] of [["head", plain], ["head", streamed], ["body", plain], ["stream", streamed]]) {
  for (const [how, Error] of [["abort", pkg.AbortError], ["timeout", pkg.TimeoutError]]) {
    test(`${call === plain ? "a call" : "a stream"} stalled at its ${where}, stopped by ${how === "abort" ? "its signal" : "its timeout"}: ${Error.name} in time, nothing held`, () =>
      stalling(async (url) => {
        const { c, error, took } = await stopped(url, where, how, call);
        assert.ok(error instanceof Error, `ended in ${error}`);
        assert.ok(took < BOUND + SLACK, `ended ${(took - BOUND).toFixed(0)} ms past its bound`);
        assertSettled(assert, c);
      }));
  }
}

test("a call queued behind another, stopped by its signal or its queue bound: in time, nothing held", () =>
  withServer(
    (req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "x", object: "chat.completion", model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })),
    async (url) => {
      const c = client(url, { requestsPerSecond: 0.2 });
      await plain(c);
      const abort = new AbortController();
      setTimeout(() => abort.abort(), BOUND);
      let started = performance.now();
      const aborted = await plain(c, abort.signal).catch((e) => e);
      assert.ok(aborted instanceof pkg.AbortError && performance.now() - started < BOUND + SLACK);
      started = performance.now();
      const late = await c.chat.complete(chatRequest(4), { queueTimeoutMs: BOUND }).catch((e) => e);
      assert.ok(late instanceof pkg.QueueTimeoutError, String(late));
      assert.ok(performance.now() - started < BOUND + SLACK);
      assertSettled(assert, c);
    },
  ));
