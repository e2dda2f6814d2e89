// client.metrics(): per model and overall, equal to what the mock saw and the
// client's counters; the cost from the price table; the Prometheus text format;
// and the alerts (429 share, queue wait, the month's budget), each raised once.
import { test } from "node:test";
import assert from "node:assert/strict";

import { assertSettled, chatRequest, client, withMock } from "./helpers.mjs";

const chat = (model, maxTokens = 8) => ({ ...chatRequest(maxTokens), model });

test("metrics per model: calls, errors, requests, 429s, retries, tokens, timings and cost", () =>
  withMock([], async (mock) => {
    const c = client(mock.url, { maxRetries: 2 });
    await mock.faults(["429", "503"]);
    await c.chat.complete(chat("mistral-small-latest"));
    for await (const _ of c.chat.stream(chat("mistral-small-latest")));
    await c.chat.complete(chat("mistral-large-latest"));
    const refused = await c.chat.complete(chat("no-such-model")).catch((e) => e);
    assert.equal(refused.name, "BadRequestError");

    const m = c.metrics();
    const small = m.models["mistral-small-latest"];
    assert.deepEqual([small.calls, small.requests, small.rateLimited, small.retries], [2, 4, 1, 2]);
    assert.equal(small.rateLimitedShare, 0.25);
    assert.deepEqual(m.models["no-such-model"].errors, { BadRequestError: 1 });
    assert.ok(small.ttftMs.p50 > 0 && small.latencyMs.p95 >= small.latencyMs.p50);
    assert.ok(small.queueWaitMs.p50 >= 0);
    const s = c.status().counters;
    assert.deepEqual([m.overall.calls, m.overall.requests, m.overall.tokensIn, m.overall.tokensOut], [4, s.requests, s.tokensIn, s.tokensOut]);
    assert.equal(m.overall.requests, (await mock.stats()).requests);
    assert.equal(small.costUsd, (small.tokensIn * 0.1 + small.tokensOut * 0.3) / 1e6, "mistral-small's list price");
    assert.equal(m.models["no-such-model"].costUsd, null, "a model no price names costs nothing known");
    assert.equal(m.overall.costUsd, small.costUsd + m.models["mistral-large-latest"].costUsd);

    const priced = client(mock.url, { prices: { "mistral-small": { input: 1, output: 1 } } });
    await priced.chat.complete(chat("mistral-small-latest"));
    const own = priced.metrics().models["mistral-small-latest"];
    assert.equal(own.costUsd, (own.tokensIn + own.tokensOut) / 1e6);
    assertSettled(assert, c);
  }));

test("metrics in the Prometheus text format", () =>
  withMock([], async (mock) => {
    const c = client(mock.url);
    await c.chat.complete(chat("mistral-small-latest"));
    const text = c.metrics({ format: "prometheus" });
    const samples = text.split("\n").filter((l) => l && !l.startsWith("#"));
    for (const line of samples) assert.match(line, /^mistral_ratelimit_[a-z_]+\{([a-z_]+="[^"]*",?)+\} [0-9.e+-]+$/, line);
    assert.ok(samples.includes('mistral_ratelimit_calls_total{model="mistral-small-latest"} 1'));
    assert.match(text, /# TYPE mistral_ratelimit_tokens_total counter/);
    // Every figure metrics() counts has its family, fallbacks and tiers included.
    const own = c.metrics().models["mistral-small-latest"];
    assert.ok(samples.includes(`mistral_ratelimit_fallbacks_total{model="mistral-small-latest"} ${own.fallbacks}`), text);
    assert.ok(samples.includes(`mistral_ratelimit_tokens_cached_total{model="mistral-small-latest"} ${own.tokensCached}`), text);
    assert.ok(samples.includes(`mistral_ratelimit_tier_calls_total{model="mistral-small-latest",tier="standard"} ${own.tiers.standard}`), text);
    assert.throws(() => c.metrics({ format: "xml" }), { name: "ConfigError" });
  }));

test("alerts: a share of 429s, a slow queue and the month's budget, each raised once", () =>
  withMock(["--rps", "1000"], async (mock) => {
    const alerts = [];
    const c = client(mock.url, { maxRetries: 0, alertQueueWaitMs: 500, tokensPerMonth: 2000, requestsPerSecond: 20, onAlert: (a) => alerts.push(a) });
    // A first reply states the request limit: the 429s below, which no load
    // explains, then lower nothing (a limit no header states, they would).
    await c.chat.complete(chat("mistral-small-latest", 4));
    await mock.faults([...Array(10).fill("429"), ...Array(20).fill(null)]);
    for (let i = 0; i < 30; i++) await c.chat.complete(chat("mistral-small-latest", 4)).catch(() => {});
    // The month: 2,000 tokens, spent past 80%.
    while (c.status().lanes.find((l) => l.windowMs > 86_400_000).percent < 85) await c.chat.complete(chat("mistral-small-latest", 40));
    const kinds = alerts.map((a) => a.kind);
    assert.equal(kinds.filter((k) => k === "rate-limited").length, 1, "raised once while it stands");
    const month = alerts.filter((a) => a.kind === "month-budget").map((a) => a.threshold);
    assert.deepEqual(month, [0.8, 0.95].slice(0, month.length));
    assert.ok(month.length >= 1, "the month passed 80%");
    assert.ok(!kinds.includes("queue-wait"));
    // Forty calls at once at 20 a second, from a client with room in its month: the last waits near two seconds.
    const queued = client(mock.url, { alertQueueWaitMs: 500, requestsPerSecond: 20, onAlert: (a) => alerts.push(a) });
    await Promise.all(Array.from({ length: 40 }, () => queued.chat.complete(chat("mistral-small-latest", 1))));
    assert.equal(alerts.filter((a) => a.kind === "queue-wait").length, 1);
    const wait = alerts.find((a) => a.kind === "queue-wait");
    assert.ok(wait.value > 500 && wait.threshold === 500);
  }));

test("alert options are checked", () => {
  for (const options of [{ alertRateLimitedShare: 2 }, { alertQueueWaitMs: -1 }, { onAlert: 1 }, { prices: { m: { input: -1, output: 0 } } }]) {
    assert.throws(() => client("http://127.0.0.1:9", options), { name: "ConfigError" }, JSON.stringify(options));
  }
});

test("with @opentelemetry/api and a meter provider, the same figures are on its meter", () =>
  withMock([], async (mock) => {
    const { metrics } = await import("@opentelemetry/api");
    const { MeterProvider, MetricReader } = await import("@opentelemetry/sdk-metrics");
    class Reader extends MetricReader {
      async onForceFlush() {}
      async onShutdown() {}
    }
    const reader = new Reader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      const c = client(mock.url);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await c.chat.complete(chat("mistral-small-latest"));
      for await (const _ of c.chat.stream(chat("mistral-small-latest")));
      const { resourceMetrics } = await reader.collect();
      const found = Object.fromEntries(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m.dataPoints]));
      const point = (name, attributes) =>
        found[name].find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))?.value;
      const small = c.metrics().models["mistral-small-latest"];
      assert.equal(point("mistral_ratelimit.calls", { model: "mistral-small-latest" }), 2);
      assert.equal(point("mistral_ratelimit.tokens", { model: "mistral-small-latest", direction: "out" }), small.tokensOut);
      assert.equal(point("mistral_ratelimit.cost", { model: "mistral-small-latest" }), small.costUsd);
      assert.equal(point("mistral_ratelimit.ttft", { model: "mistral-small-latest", quantile: "0.5" }), small.ttftMs.p50);
      assert.equal(point("mistral_ratelimit.fallbacks", { model: "mistral-small-latest" }), small.fallbacks);
      assert.equal(point("mistral_ratelimit.tier_calls", { model: "mistral-small-latest", tier: "standard" }), small.tiers.standard);
    } finally {
      metrics.disable();
    }
  }));
