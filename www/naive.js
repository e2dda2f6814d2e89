// The naive client the storm compares against: plain `fetch`, retrying 429 and
// 5xx the way the official SDK does when its backoff strategy is on (delay
// 500 ms × x^1.5 plus up to 1 s of jitter, x counting from 0, capped at 60 s;
// Retry-After honoured), with no limiter in front. Facts from the SDK's
// src/lib/retries.ts, as summarised in shared/mistral-api.md section 8.
const RETRY_CODES = new Set([429, 500, 502, 503, 504]);
const INITIAL_MS = 500;
const EXPONENT = 1.5;
const MAX_INTERVAL_MS = 60_000;

/**
 * A chat completion through plain fetch. `onRefused(at)` is told of every 429.
 * Resolves with the reply's JSON; rejects once a refusal outlasts `maxElapsedMs`.
 */
export async function naiveComplete(serverURL, apiKey, body, { onRefused = () => {}, maxElapsedMs = 120_000 } = {}) {
  const start = Date.now();
  for (let x = 0; ; x++) {
    const response = await fetch(`${serverURL}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify(body),
    });
    if (response.ok) return response.json();
    if (response.status === 429) onRefused(Date.now());
    if (!RETRY_CODES.has(response.status) || Date.now() - start > maxElapsedMs) {
      throw new Error(`HTTP ${response.status} after ${x + 1} attempts`);
    }
    await response.body?.cancel();
    const wait = retryAfterMs(response.headers.get("retry-after")) ?? INITIAL_MS * x ** EXPONENT + Math.random() * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, MAX_INTERVAL_MS)));
  }
}

/** Retry-After as whole seconds or an HTTP date, as the SDK reads it. */
function retryAfterMs(value) {
  if (value === null) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
