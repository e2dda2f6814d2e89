// Mistral's docs define the per-second request limit as "the maximum number of
// concurrent API requests": the built package against a mock that caps requests in
// flight, and against one that counts arrivals, with each reading of the limit.
import { test } from "node:test";
import assert from "node:assert/strict";

import { pkg } from "./helpers.mjs";
import { inFlightRun } from "./in-flight.mjs";

const line = (r) => `${r.refused} 429s in ${r.calls} calls, ${(100 * r.atLimit).toFixed(1)}% of the time at the limit, busiest ${r.busiest}, ${(r.ms / 1000).toFixed(1)} s`;

test("read as requests in flight: no 429, and the limit in flight 90% of the time", async () => {
  const r = await inFlightRun({ server: "in-flight", requestLimit: "concurrency", n: 200 });
  console.log(`concurrency: ${line(r)}`);
  assert.equal(r.streamed, r.calls);
  assert.equal(r.refused, 0);
  assert.ok(r.atLimit >= 0.9, `${r.atLimit}`);
  assert.deepEqual(r.status.inFlightLimit, { limit: 5, configured: 5, source: "configured", share: null });
  assert.equal(r.status.lanes.find((l) => l.name === "requests/1s"), undefined, "no arrival rate");
});

test("auto: 429s that line up with the number in flight cap it, at most 1% of 200 calls refused", async () => {
  const r = await inFlightRun({ server: "in-flight", requestLimit: "auto", n: 200 });
  console.log(`auto, in-flight server: ${line(r)}`);
  assert.equal(r.streamed, r.calls);
  assert.ok(r.refused <= 0.01 * r.calls, `${r.refused} 429s`);
  assert.ok(r.atLimit >= 0.9, `${r.atLimit}`);
  assert.deepEqual(r.status.inFlightLimit, { limit: 5, configured: null, source: "429", share: null });
  const change = r.changes.find((e) => e.lane === "requests/in-flight");
  assert.deepEqual([change.limit, change.configured, change.cause], [5, 5, "429"]);
  assert.equal(r.status.inFlight + r.status.queued, 0);
});

test("auto against a server that counts arrivals: no cap on requests in flight, no slower than a rate", async () => {
  const rate = await inFlightRun({ server: "rate", requestLimit: "rate", n: 100 });
  const auto = await inFlightRun({ server: "rate", requestLimit: "auto", n: 100 });
  console.log(`rate server, rate: ${line(rate)}\nrate server, auto: ${line(auto)}`);
  assert.equal(auto.status.inFlightLimit, null);
  assert.ok(auto.refused <= 1, `${auto.refused} 429s`);
  // The 429 allowed costs what any 429 does (its retry, and a window the lane
  // slows for): a second, which alone took a run of 21 s past 5%.
  assert.ok(auto.ms <= rate.ms * 1.05 + 1000 * auto.refused, `auto ${auto.ms} ms with ${auto.refused} 429s, rate ${rate.ms} ms`);
});

test("a reading that does not exist is refused, naming the four there are", () => {
  assert.throws(
    () => new pkg.MistralRatelimitClient({ apiKey: "k", requestLimit: "concurrent" }),
    (e) => e instanceof pkg.ConfigError && e.message.includes('requestLimit must be "rate", "concurrency", "both" or "auto", got "concurrent"'),
  );
  assert.throws(() => new pkg.MistralRatelimitClient({ apiKey: "k", maxConcurrentRequests: 0 }), /maxConcurrentRequests must be at least 1/);
});
