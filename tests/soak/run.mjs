// The soak (soak.mjs) in Node or Deno against the mock, with 5xx, resets and 429s
// injected by chance. Every call must end, nothing may stay in flight or queued,
// the books may not hold less than the mock charged, and over 100,000 calls the
// heap may grow by at most 5 MB between a tenth of the calls and the end.
//
//   node --expose-gc tests/soak/run.mjs CALLS CONCURRENCY           (under scripts/with-mock.sh)
//   deno run --allow-all --v8-flags=--expose-gc tests/soak/run.mjs CALLS CONCURRENCY
import { soak } from "./soak.mjs";

const [calls = 5000, concurrency = 50] = process.argv.slice(2).map(Number);
const url = process.env.MISTRAL_MOCK_URL;
const runtime = globalThis.Deno ? "deno" : "node";
// Each runtime through the entry it loads: Node's, and the web one for Deno.
const entry = runtime === "deno" ? "index.js" : "node.js";
const { MistralRatelimitClient } = await import(new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/${entry}`, import.meta.url));
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const memory = () => {
  globalThis.gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
};

await fetch(`${url}/__mock/faults`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ probabilities: [["503", 0.01], ["reset", 0.005], ["429", 0.005]] }),
});
const client = new MistralRatelimitClient({
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
await fetch(`${url}/__mock/faults`, { method: "DELETE" });
const after = memory();
const status = client.status();
const stats = await (await fetch(`${url}/__mock/stats`)).json();
const books = status.lanes.find((l) => l.windowMs > 86_400_000).used;

console.log(`soak (${runtime}): ${calls} calls, ${concurrency} at a time: ${(calls / result.seconds).toFixed(0)} calls/s`);
console.log(`  ${Object.entries(result.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")}`);
console.log(`  heap ${mb(before.heapUsed)} -> ${mb(result.early.heapUsed)} (after ${Math.floor(calls / 10)}) -> ${mb(after.heapUsed)}; rss ${mb(before.rss)} -> ${mb(after.rss)}`);
console.log(`  slowest call ${result.slowestMs.toFixed(0)} ms (${Math.max(0, result.slowestMs - deadlineMs).toFixed(0)} ms past its deadline)`);
console.log(
  `  books: the client holds ${books} tokens, the mock charged ${stats.tokens_charged} (${(books / stats.tokens_charged).toFixed(3)}×); in flight ${status.inFlight}, queued ${status.queued}`,
);

const problems = [];
if (status.inFlight !== 0 || status.queued !== 0) problems.push("calls stayed in flight or queued");
if (result.slowestMs > deadlineMs + 1000) problems.push("a call outlived its deadline");
if (Object.keys(result.outcomes).some((k) => k.startsWith("failed") && !/ServerError|ConnectionError|RateLimitError/.test(k))) problems.push("a call failed unexpectedly");
if (calls >= 100_000 && after.heapUsed - result.early.heapUsed > 5 * 2 ** 20) problems.push("the heap grew by more than 5 MB");
// A call given up after it was sent books its whole reservation (the server may
// have done it all), a 5xx its prompt: never less than the server charged.
if (books < stats.tokens_charged) problems.push("the client booked less than the mock charged");
if (problems.length) {
  console.error(`soak failed: ${problems.join("; ")}`);
  process.exit(1);
}
