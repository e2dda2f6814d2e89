// What client.metrics() adds to the wasm module's figures: the estimated cost from
// a price table, and the Prometheus text exposition format.

/**
 * USD per million tokens, input and output, as mistral.ai/pricing listed them in
 * July 2025. A model matches its longest prefix here ("mistral-small-2506" and
 * "mistral-small-latest" are "mistral-small"). Prices change: pass your own as the
 * client's `prices` option.
 */
export const DEFAULT_PRICES = {
  "mistral-large": { input: 2, output: 6 },
  "mistral-medium": { input: 0.4, output: 2 },
  "mistral-small": { input: 0.1, output: 0.3 },
  "magistral-medium": { input: 2, output: 5 },
  "magistral-small": { input: 0.5, output: 1.5 },
  "codestral": { input: 0.3, output: 0.9 },
  "devstral-medium": { input: 0.4, output: 2 },
  "devstral-small": { input: 0.1, output: 0.3 },
  "ministral-8b": { input: 0.1, output: 0.1 },
  "ministral-3b": { input: 0.04, output: 0.04 },
  "open-mistral-nemo": { input: 0.15, output: 0.15 },
  "pixtral-large": { input: 2, output: 6 },
  "pixtral-12b": { input: 0.15, output: 0.15 },
  "mistral-embed": { input: 0.1, output: 0 },
  "codestral-embed": { input: 0.15, output: 0 },
  "mistral-moderation": { input: 0.1, output: 0 },
};

/** Checks a price table; the message of what is wrong, or null. */
export function checkPrices(prices) {
  if (prices === null || typeof prices !== "object" || Array.isArray(prices)) return "prices must be an object of { model: { input, output } }";
  for (const [model, price] of Object.entries(prices)) {
    const ok = (v) => Number.isFinite(v) && v >= 0;
    if (!ok(price?.input) || !ok(price?.output)) return `prices["${model}"] must be { input, output }: USD per million tokens, 0 or more`;
  }
  return null;
}

/** The price of `model`: its own entry, else its longest prefix's. */
function priceOf(prices, model) {
  if (prices[model]) return prices[model];
  const prefix = Object.keys(prices).filter((p) => model.startsWith(p)).sort((a, b) => b.length - a.length)[0];
  return prefix ? prices[prefix] : undefined;
}

/** The figures with `costUsd` per model (null when priced by no entry) and overall. */
export function withCost(figures, prices) {
  let total = 0;
  const models = {};
  for (const [model, m] of Object.entries(figures.models)) {
    const price = priceOf(prices, model);
    // Mistral bills a prompt's cached tokens at a tenth of the input price.
    const input = m.tokensIn - 0.9 * m.tokensCached;
    const costUsd = price ? (input * price.input + m.tokensOut * price.output) / 1e6 : null;
    total += costUsd ?? 0;
    models[model] = { ...m, costUsd };
  }
  return { overall: { ...figures.overall, costUsd: total }, models };
}

// What both exports name, once: [name, the field of a model's figures, help].
export const COUNTERS = [
  ["calls", "calls", "Calls finished."],
  ["requests", "requests", "HTTP requests sent, each attempt."],
  ["rate_limited", "rateLimited", "429 replies."],
  ["retries", "retries", "Retries."],
  ["fallbacks", "fallbacks", "Calls that moved on to a fallback model."],
  ["tokens_cached", "tokensCached", "Prompt tokens served from the prompt cache (part of the tokens in)."],
];
export const TIMINGS = [
  ["latency", "latencyMs", "Call latency, recent percentiles"],
  ["ttft", "ttftMs", "Time to a stream's first event, recent percentiles"],
  ["queue_wait", "queueWaitMs", "An attempt's wait for the limiter, recent percentiles"],
];

/** The figures in the Prometheus text exposition format (version 0.0.4). */
export function prometheus(figures) {
  const lines = [];
  const family = (name, type, help, samples) => {
    lines.push(`# HELP mistral_ratelimit_${name} ${help}`, `# TYPE mistral_ratelimit_${name} ${type}`);
    for (const [labels, value] of samples) {
      if (value === null || value === undefined) continue;
      const text = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
      lines.push(`mistral_ratelimit_${name}{${text.join(",")}} ${value}`);
    }
  };
  const models = Object.entries(figures.models);
  const per = (pick) => models.map(([model, m]) => [{ model }, pick(m)]);
  for (const [name, key, help] of COUNTERS) family(`${name}_total`, "counter", help, per((m) => m[key]));
  family("errors_total", "counter", "Calls failed, by error class.", models.flatMap(([model, m]) => Object.entries(m.errors).map(([error, n]) => [{ model, error }, n])));
  family("tokens_total", "counter", "Tokens the server reported.", models.flatMap(([model, m]) => [[{ model, direction: "in" }, m.tokensIn], [{ model, direction: "out" }, m.tokensOut]]));
  family("tier_calls_total", "counter", "Calls by the service tier that served them.", models.flatMap(([model, m]) => Object.entries(m.tiers).map(([tier, n]) => [{ model, tier }, n])));
  family("cost_usd_total", "counter", "Estimated cost from the price table, USD.", per((m) => m.costUsd));
  for (const [name, key, help] of TIMINGS) {
    family(`${name}_ms`, "gauge", `${help}, ms.`, models.flatMap(([model, m]) => [[{ model, quantile: "0.5" }, m[key].p50], [{ model, quantile: "0.95" }, m[key].p95]]));
  }
  return `${lines.join("\n")}\n`;
}
