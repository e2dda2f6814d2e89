// When @opentelemetry/api is installed (an optional peer dependency) and a meter
// provider is registered before the client is made, the figures of
// client.metrics() are recorded on its meter too: observed at each collection,
// so they are the very numbers metrics() returns. Nothing happens without it.

import { COUNTERS, TIMINGS } from "./metrics.js";

// A name in a variable, and marked for the bundlers that would otherwise warn of
// an expression: they leave the import to run time, where it may fail.
const API = "@opentelemetry/api";

/** Records `read()`'s figures (client.metrics()) on the global meter, if there is one. */
export async function observeOnMeter(read, version) {
  let api;
  try {
    api = await import(/* webpackIgnore: true */ /* @vite-ignore */ API);
  } catch {
    return;
  }
  const meter = api.metrics.getMeter("mistral-ratelimit", version);
  const name = (n) => `mistral_ratelimit.${n}`;
  const counters = COUNTERS.map(([n, key, description]) => [meter.createObservableCounter(name(n), { description }), key]);
  const tokens = meter.createObservableCounter(name("tokens"), { description: "Tokens the server reported." });
  const errors = meter.createObservableCounter(name("errors"), { description: "Calls failed, by error class." });
  const tiers = meter.createObservableCounter(name("tier_calls"), { description: "Calls by the service tier that served them." });
  const cost = meter.createObservableCounter(name("cost"), { description: "Estimated cost from the price table.", unit: "USD" });
  const timings = TIMINGS.map(([n, key, description]) => [meter.createObservableGauge(name(n), { description, unit: "ms" }), key]);
  meter.addBatchObservableCallback(
    (observer) => {
      for (const [model, m] of Object.entries(read().models)) {
        for (const [instrument, key] of counters) observer.observe(instrument, m[key], { model });
        observer.observe(tokens, m.tokensIn, { model, direction: "in" });
        observer.observe(tokens, m.tokensOut, { model, direction: "out" });
        for (const [error, n] of Object.entries(m.errors)) observer.observe(errors, n, { model, error });
        for (const [tier, n] of Object.entries(m.tiers)) observer.observe(tiers, n, { model, tier });
        if (m.costUsd !== null) observer.observe(cost, m.costUsd, { model });
        for (const [instrument, key] of timings) {
          for (const [quantile, value] of [["0.5", m[key].p50], ["0.95", m[key].p95]]) {
            if (value !== null) observer.observe(instrument, value, { model, quantile });
          }
        }
      }
    },
    [...counters.map(([i]) => i), tokens, errors, tiers, cost, ...timings.map(([i]) => i)],
  );
}
