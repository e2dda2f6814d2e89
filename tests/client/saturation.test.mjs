// Saturation: many concurrent calls against a mock that enforces its limits by
// arrival. The client must use the budget fully and never earn a 429.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, client, oracle, startMock } from "./helpers.mjs";

/** A prompt of about `tokens` tokens (four ASCII bytes each). */
const prompt = (tokens, i) => `${i} `.padEnd(tokens * 4, "lorem ipsum ");

/** Runs `n` mixed calls at once; resolves with their costs and the makespan. */
async function saturate(c, n) {
  const started = performance.now();
  const calls = Array.from({ length: n }, async (_, i) => {
    const size = 50 + ((i * 137) % 1400);
    const max = 20 + ((i * 53) % 280);
    if (i % 2 === 0) {
      const r = await c.beta.conversations.start({ model: "mistral-small-latest", inputs: prompt(size, i), completion_args: { max_tokens: max } });
      return r.usage.total_tokens;
    }
    let usage;
    for await (const chunk of c.chat.stream({ model: "mistral-small-latest", messages: [{ role: "user", content: prompt(size, i) }], max_tokens: max })) {
      usage = chunk.usage ?? usage;
    }
    return usage.total_tokens;
  });
  const results = await Promise.allSettled(calls);
  const failed = results.filter((r) => r.status === "rejected");
  assert.equal(failed.length, 0, `calls failed: ${failed.slice(0, 3).map((f) => f.reason?.message).join("; ")}`);
  return { costs: results.map((r) => r.value), ms: performance.now() - started };
}

test("200 concurrent calls at 5 rps and a binding tpm: no 429, no window over, within 5% of the oracle", async () => {
  const rps = 5;
  const tpm = 150_000;
  const mock = await startMock(["--rps", String(rps), "--tpm", String(tpm)]);
  try {
    // The workload needs more than a minute of token budget: allow the wait.
    const c = client(mock.url, { requestsPerSecond: rps, tokensPerMinute: tpm, timeoutMs: 300_000 });
    const { costs, ms } = await saturate(c, 200);
    const stats = await mock.stats();
    assert.equal(stats.rate_limited, 0, "the client earned 429s");
    assert.ok(stats.busiest_1s_requests <= rps, `${stats.busiest_1s_requests} requests in one second`);
    assert.ok(stats.busiest_60s_tokens <= tpm, `${stats.busiest_60s_tokens} tokens in one minute`);
    const ideal = oracle(costs.map((total) => ({ total })), { rps, tpm, serviceMs: 100 });
    console.log(`makespan ${(ms / 1000).toFixed(1)} s, oracle ${(ideal / 1000).toFixed(1)} s, budget use ${((100 * ideal) / ms).toFixed(1)}%`);
    assert.ok(ms <= ideal * 1.05, `makespan ${ms.toFixed(0)} ms is more than 5% over the oracle's ${ideal.toFixed(0)} ms`);
    assertSettled(assert, c);
  } finally {
    mock.stop();
  }
});

test("a server whose limit is lower than the configured one is learned, and every call resolves", async () => {
  const mock = await startMock(["--rps", "3"]);
  try {
    const c = client(mock.url, { requestsPerSecond: 5 });
    await saturate(c, 45);
    const lane = c.status().lanes.find((l) => l.name === "requests/1s");
    assert.equal(lane.limit, 3, "the server's limit was learned");
    assert.equal(lane.configured, 5);
    const stats = await mock.stats();
    assert.ok(stats.busiest_1s_admitted <= 3);
    assert.ok(stats.rate_limited <= 4, `${stats.rate_limited} 429s: only those before the first reply may happen`);
    assertSettled(assert, c);
  } finally {
    mock.stop();
  }
});
