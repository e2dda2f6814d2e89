// Waiting for budget and waiting for the server are bounded apart: a call queued
// behind seconds of work is not late, and a call that cannot be admitted in time
// says so at once. And the margin leaves its warm-up with no timing header to help.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, pkg, withMock } from "./helpers.mjs";

test("time in the queue does not count against timeoutMs: 12 calls at 2 rps with a 400 ms timeout all complete", () =>
  withMock(["--rps", "2"], async (mock) => {
    const c = client(mock.url, { requestsPerSecond: 2, timeoutMs: 400 });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => c.chat.complete(chatRequest(2))));
    const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason?.name);
    assert.deepEqual(failed, [], "every call completed although most waited far longer than timeoutMs");
    assert.equal((await mock.stats()).rate_limited, 0);
    assertSettled(assert, c);
  }));

test("a call that cannot be admitted within queueTimeoutMs fails at once, with the predicted wait", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { requestsPerSecond: 1 });
    await c.chat.complete(chatRequest(2));
    const started = performance.now();
    const e = await c.chat.complete(chatRequest(2), { queueTimeoutMs: 200 }).catch((x) => x);
    const took = performance.now() - started;
    assert.ok(e instanceof pkg.QueueTimeoutError, String(e));
    assert.equal(e.code, "queue_timeout");
    assert.ok(e.predictedWaitMs > 200, `predicted ${e.predictedWaitMs} ms`);
    assert.match(e.message, /queueTimeoutMs/);
    assert.ok(took < 150, `refused up front, not after waiting: ${took.toFixed(0)} ms`);
    // Without the bound the same call simply waits its turn.
    assert.equal((await c.chat.complete(chatRequest(2))).object, "chat.completion");
    assertSettled(assert, c);
  }));

test("a stream that falls silent ends at streamIdleTimeoutMs, not at timeoutMs", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { maxRetries: 0 });
    await mock.faults(["never-ending"]);
    // The endless stream sends keep-alive comments every 100 ms: never silent.
    const alive = new AbortController();
    setTimeout(() => alive.abort(), 600);
    let got = 0;
    const e = await (async () => {
      for await (const _ of c.chat.stream(chatRequest(4), { timeoutMs: 200, streamIdleTimeoutMs: 300, signal: alive.signal })) got += 1;
    })().catch((x) => x);
    assert.ok(e instanceof pkg.AbortError, `a stream outlives timeoutMs while it talks: ${e}`);
    assert.ok(got > 0);
    await mock.faults(["hang"]);
    const hung = await c.chat.complete(chatRequest(2), { timeoutMs: 200 }).catch((x) => x);
    assert.ok(hung instanceof pkg.TimeoutError, String(hung));
    assertSettled(assert, c);
  }));

for (const stream of [false, true]) {
  test(`no timing header, 20-200 ms latency: ${stream ? "streamed" : "plain"} calls use the budget with no 429`, () =>
    withMock(["--rps", "10", "--timing-header", "off", "--latency-ms", "20-200"], async (mock) => {
      const c = client(mock.url, { requestsPerSecond: 10 });
      const n = 50;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: n }, async () => {
          if (!stream) return c.chat.complete(chatRequest(2));
          for await (const _ of c.chat.stream(chatRequest(2)));
        }),
      );
      const ms = performance.now() - started;
      const stats = await mock.stats();
      assert.equal(stats.rate_limited, 0, "429s");
      assert.ok(stats.busiest_1s_requests <= 10);
      const margin = c.status().marginMs;
      assert.ok(margin < 250, `the margin left its 250 ms warm-up: ${margin} ms`);
      // The ideal: 10 at once, then 10 a second; plus the slowest reply. A client
      // starts at half until its first reply, then rises in 16 steps a quarter of
      // that reply's round trip apart (limiter/inference.rs; up to 50 ms here):
      // no header states the limit to a stream. The rise costs a quarter of its
      // length at the whole rate, about 200 ms, besides the half before the reply.
      const ideal = ((n / 10 - 1) * 1000) + 200 + (stream ? 450 : 0);
      console.log(`${stream ? "streamed" : "plain"}: makespan ${ms.toFixed(0)} ms, ideal ${ideal} ms, margin ${margin} ms`);
      assert.ok(ms < ideal * 1.12, `makespan ${ms.toFixed(0)} ms against an ideal of ${ideal} ms`);
      assertSettled(assert, c);
    }));
}

test("a server that counts prompts 30% higher is learned: a calibrated event, and later calls reserve more", () =>
  withMock(["--prompt-count-factor", "1.3"], async (mock) => {
    const events = [];
    const c = client(mock.url, { onEvent: (e) => events.push(e) });
    const body = chatRequest(5, "lorem ipsum dolor sit amet ".repeat(40));
    await c.chat.complete(body);
    const calibrated = events.find((e) => e.type === "calibrated");
    assert.ok(calibrated, "the first reply taught the ratio");
    assert.equal(calibrated.model, "mistral-small-latest");
    // The mock's own count runs close to the heuristic; 30% more shows as about 1.3.
    assert.ok(calibrated.ratio > 1.2 && calibrated.ratio < 1.5, `ratio ${calibrated.ratio}`);
    await c.chat.complete(body);
    const queued = events.filter((e) => e.type === "queued").map((e) => e.estimate);
    assert.ok(queued[1] > queued[0], `the second call reserves more: ${queued}`);
    const settled = events.filter((e) => e.type === "settled");
    assert.equal(settled.at(-1).debt, 0, "and runs into no debt");
    assertSettled(assert, c);
  }));
