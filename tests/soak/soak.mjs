// A soak: many calls, some at a time, of every kind a user makes: plain, streamed
// to their end, streams aborted at a random event, streams left with `break`, and
// calls aborted at a random moment (often while queued). Imports nothing, so Node,
// Deno and a browser page run it as it is (run.mjs, chromium.mjs).
/**
 * Runs the calls; resolves once every one has ended, with how each ended, the
 * slowest call's time, and `checkpoint()`'s figures taken after a tenth of them.
 */
export async function soak(client, { calls, concurrency, seed = 1, checkpoint = () => null }) {
  let state = seed >>> 0 || 1;
  // xorshift32: the same mix for the same seed, in every runtime.
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const request = (i) => ({ model: "mistral-small-latest", messages: [{ role: "user", content: `soak ${i}` }], max_tokens: 8 });
  const outcomes = {};
  const count = (what) => (outcomes[what] = (outcomes[what] ?? 0) + 1);
  const aborted = (e) => {
    if (e?.name !== "AbortError") throw e;
  };
  let slowestMs = 0;
  let early = null;
  let next = 0;

  const one = async (i) => {
    const kind = random();
    const started = performance.now();
    try {
      if (kind < 0.4) {
        await client.chat.complete(request(i));
        count("plain");
      } else if (kind < 0.7) {
        for await (const _ of client.chat.stream(request(i)));
        count("streamed");
      } else if (kind < 0.8) {
        const stop = new AbortController();
        const at = Math.floor(random() * 4);
        let seen = 0;
        try {
          for await (const _ of client.chat.stream(request(i), { signal: stop.signal })) if (seen++ === at) stop.abort();
          count("stream ended before its abort");
        } catch (e) {
          aborted(e);
          count("stream aborted");
        }
      } else if (kind < 0.9) {
        for await (const _ of client.chat.stream(request(i))) break;
        count("stream left with break");
      } else {
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), random() * 20);
        try {
          await client.chat.complete(request(i), { signal: stop.signal });
          count("done before its abort");
        } catch (e) {
          aborted(e);
          count("aborted");
        } finally {
          clearTimeout(timer);
        }
      }
    } catch (e) {
      count(`failed: ${e?.name ?? e}`);
    }
    slowestMs = Math.max(slowestMs, performance.now() - started);
  };

  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const i = next++;
        await one(i);
        if (i === Math.floor(calls / 10)) early = await checkpoint();
      }
    }),
  );
  return { outcomes, slowestMs, seconds: (performance.now() - started) / 1000, early };
}

/**
 * The whole soak against the mock at `url`, with 5xx, resets and 429s injected by
 * chance: the client made by `Client`, the calls, a watchdog, and the verdict.
 * `memory()` gives `{ heapUsed, rss }` (after a collection where the runtime
 * allows). Resolves with the report's lines and the problems found.
 */
export async function soakRun({ Client, url, calls, concurrency, memory, runtime }) {
  const faults = `${url}/__mock/faults`;
  const json = { "content-type": "application/json" };
  await fetch(faults, { method: "POST", headers: json, body: JSON.stringify({ probabilities: [["503", 0.01], ["reset", 0.005], ["429", 0.005]] }) });
  const client = new Client({
    apiKey: "soak",
    serverURL: url,
    requestsPerSecond: 2000,
    tokensPerMinute: 1e9,
    // A month's lane holds everything the run books.
    tokensPerMonth: 1e12,
    maxRetries: 2,
    baseDelayMs: 10,
    maxDelayMs: 50,
    timeoutMs: 5000,
    streamIdleTimeoutMs: 5000,
    dangerouslyAllowBrowser: true,
  });
  // A call's deadline: each attempt's timeout, and the backoff between them.
  const deadlineMs = 3 * 5000 + 2 * 50;
  const before = memory();
  let timer;
  const watchdog = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("HUNG: calls still pending")), Math.max(120_000, calls * 5));
  });
  const result = await Promise.race([soak(client, { calls, concurrency, checkpoint: memory }), watchdog]);
  clearTimeout(timer);
  await fetch(faults, { method: "DELETE" });
  const after = memory();
  const status = client.status();
  const stats = await (await fetch(`${url}/__mock/stats`)).json();
  const books = status.lanes.find((l) => l.windowMs > 86_400_000).used;
  const mb = (bytes) => (bytes === null ? "?" : `${(bytes / 2 ** 20).toFixed(1)} MB`);

  const lines = [
    `soak (${runtime}): ${calls} calls, ${concurrency} at a time: ${(calls / result.seconds).toFixed(0)} calls/s`,
    `  ${Object.entries(result.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `  heap ${mb(before.heapUsed)} -> ${mb(result.early.heapUsed)} (after ${Math.floor(calls / 10)}) -> ${mb(after.heapUsed)}; rss ${mb(before.rss)} -> ${mb(after.rss)}`,
    `  slowest call ${result.slowestMs.toFixed(0)} ms (${Math.max(0, result.slowestMs - deadlineMs).toFixed(0)} ms past its deadline)`,
    `  books: the client holds ${books} tokens, the mock charged ${stats.tokens_charged} (${(books / stats.tokens_charged).toFixed(3)}×); in flight ${status.inFlight}, queued ${status.queued}`,
  ];
  const problems = [];
  if (status.inFlight !== 0 || status.queued !== 0) problems.push("calls stayed in flight or queued");
  if (result.slowestMs > deadlineMs + 1000) problems.push("a call outlived its deadline");
  const failed = Object.keys(result.outcomes).filter((k) => k.startsWith("failed") && !/ServerError|ConnectionError|RateLimitError/.test(k));
  if (failed.length) problems.push(`calls failed unexpectedly (${failed.join(", ")})`);
  const grew = after.heapUsed - result.early.heapUsed;
  if (calls >= 100_000 && grew > 5 * 2 ** 20) problems.push(`the heap grew by ${mb(grew)}`);
  // A call given up after it was sent books its whole reservation (the server may
  // have done it all), a 5xx its prompt: never less than the server charged.
  if (books < stats.tokens_charged) problems.push("the client booked less than the mock charged");
  return { lines, problems };
}
