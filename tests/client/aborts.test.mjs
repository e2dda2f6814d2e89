// A stream whose reply has already arrived when its caller aborts: the whole body
// buffered, the abort at the last event before [DONE], or at the end of the body.
// Each ends in an AbortError at the next read, within the time of a read, and the
// call settles exactly once. A scripted server of its own paces the body.
import { test } from "node:test";
import assert from "node:assert/strict";

import { VALID_STREAM } from "../hostile/server.mjs";
import { assertSettled, chatRequest, client, pkg, withServer } from "./helpers.mjs";

const DONE = "data: [DONE]\n\n";
const EVENTS = VALID_STREAM.slice(0, -DONE.length);
const HOLD_MS = 300;

// How the body is paced.
const SCRIPTS = {
  // Everything at once, then the end.
  buffered: async (res) => res.end(VALID_STREAM),
  // Every event, and [DONE] a moment later.
  "done-later": async (res) => {
    res.write(EVENTS);
    await sleep(HOLD_MS);
    res.end(DONE);
  },
  // The whole stream, and the end of the body a moment later.
  "eof-later": async (res) => {
    res.write(VALID_STREAM);
    await sleep(HOLD_MS);
    res.end();
  },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The first segment of the path picks the script.
const paced = (body) =>
  withServer((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    SCRIPTS[req.url.split("/")[1]](res);
  }, body);

/** Reads `before` events of a stream from `script`, aborts, and returns what the next reads gave. */
async function abortAfter(url, script, before) {
  const c = client(`${url}/${script}`, { maxRetries: 0 });
  const settled = [];
  c.on((e) => e.type === "settled" && settled.push(e));
  const abort = new AbortController();
  const it = c.chat.stream(chatRequest(8), { signal: abort.signal })[Symbol.asyncIterator]();
  for (let i = 0; i < before; i++) assert.equal((await it.next()).done, false);
  // Let the rest of the body arrive first.
  await sleep(50);
  abort.abort();
  const started = performance.now();
  const error = await it.next().then(() => null, (e) => e);
  const took = performance.now() - started;
  const after = await it.next();
  await sleep(HOLD_MS + 50);
  return { c, error, took, after, settled };
}

for (const script of Object.keys(SCRIPTS)) {
  for (const [when, before] of [["after its first event", 1], ["after its last event", 3]]) {
    test(`a stream aborted ${when}, its reply already in (${script}): an AbortError at the next read, settled once`, () =>
      paced(async (url) => {
        const { c, error, took, after, settled } = await abortAfter(url, script, before);
        assert.ok(error instanceof pkg.AbortError, `the next read gave ${error}`);
        assert.ok(took < 100, `the AbortError took ${took.toFixed(0)} ms`);
        assert.equal(after.done, true, "then the stream is done");
        assert.equal(settled.length, 1, "the call settled once");
        assertSettled(assert, c);
      }));
  }
}

test("a stream read to its end is not undone by a later abort", () =>
  paced(async (url) => {
    const c = client(`${url}/buffered`, { maxRetries: 0 });
    const abort = new AbortController();
    const events = [];
    for await (const e of c.chat.stream(chatRequest(8), { signal: abort.signal })) events.push(e);
    abort.abort();
    assert.equal(events.length, 3);
    assert.equal(events[2].usage.total_tokens, 7);
    assertSettled(assert, c);
  }));
