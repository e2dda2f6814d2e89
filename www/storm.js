// A storm: n chat calls fired at once, through this client or the naive one, with
// when each started and ended and when the server refused one. Shared by the page
// and the terminal summary of `make demo` (scripts/run/demo-storm.mjs).
import { naiveComplete } from "./naive.js";

/** A chat body of about `promptTokens` prompt tokens that asks for `maxTokens`. */
export function stormBody(i, { model, promptTokens, maxTokens }) {
  const words = Array.from({ length: Math.max(1, promptTokens - 8) }, () => "limit").join(" ");
  return { model, max_tokens: maxTokens, messages: [{ role: "user", content: `Storm call ${i}: ${words}` }] };
}

/**
 * Fires `plan.calls` calls through `call(i, refused)` at once; `refused()` marks a
 * 429, and so may whoever `watch(refused)` hands it to (it returns an unsubscribe).
 * Resolves, once every call has ended, with each call's span and the refusals (ms from the start).
 */
export async function runStorm(plan, call, watch = () => () => {}) {
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  const refusals = [];
  const refused = () => refusals.push(since());
  const unwatch = watch(refused);
  const calls = await Promise.all(
    Array.from({ length: plan.calls }, async (_, i) => {
      const span = { start: since(), end: 0, ok: false, tokens: 0, error: null };
      try {
        const reply = await call(i, refused);
        span.ok = true;
        span.tokens = reply.usage?.total_tokens ?? 0;
      } catch (e) {
        span.error = e?.name && e.name !== "Error" ? e.name : String(e?.message ?? e);
      }
      span.end = since();
      return span;
    }),
  ).finally(unwatch);
  const tokens = calls.reduce((sum, c) => sum + c.tokens, 0);
  const ok = calls.filter((c) => c.ok);
  const lastStartMs = idealMs(plan, tokens);
  // The last call ends no sooner than the quickest took: the first calls of a
  // storm leave at once, so the quickest span is one call's own time.
  const quickestMs = ok.length ? Math.min(...ok.map((c) => c.end - c.start)) : 0;
  return {
    calls,
    refusals,
    completed: ok.length,
    failed: calls.length - ok.length,
    makespanMs: Math.max(0, ...calls.map((c) => c.end)),
    lastStartMs,
    floorMs: lastStartMs + quickestMs,
  };
}

/**
 * The least time the limits allow for the storm's calls to start: the requests
 * lane lets `requestsPerSecond` start in any second, the tokens lane spends
 * `tokensPerMinute` in any minute. A call's own time comes on top.
 */
export function idealMs(plan, tokens) {
  const byRequests = (Math.ceil(plan.calls / plan.requestsPerSecond) - 1) * 1000;
  const byTokens = (Math.ceil(tokens / plan.tokensPerMinute) - 1) * 60_000;
  return Math.max(0, byRequests, byTokens);
}

/** The storm through a MistralRatelimitClient: its 429s come from its events. */
export function clientStorm(client, plan) {
  return runStorm(
    plan,
    (i) => client.chat.complete(stormBody(i, plan), { priority: plan.priority }),
    (refused) => client.on((event) => event.type === "rate-limited" && refused()),
  );
}

/** The same storm through plain fetch with the SDK's retries. */
export function naiveStorm(serverURL, apiKey, plan) {
  return runStorm(plan, (i, refused) => naiveComplete(serverURL, apiKey, stormBody(i, plan), { onRefused: refused }));
}
