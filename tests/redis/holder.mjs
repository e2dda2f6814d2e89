// One process of a budget shared on Redis, run by Node and by Deno: a client whose
// budget is `org` on REDIS_URL (through ioredis, or node-redis when REDIS_CLIENT is
// "node-redis") makes CALLS calls at once at START_AT (ms since the epoch; odd ones
// streamed, of MAX_TOKENS tokens at most) against UPSTREAM_URL, reading RPS as
// REQUEST_LIMIT says, and prints one JSON line: when it began and
// ended, each call's outcome, and its budget's status. It prints "holding" first,
// once it holds a share, for the test that kills it there.
import Redis from "ioredis";
import { createClient } from "redis";

import { outcome } from "../client/outcome.mjs";

const env = process.env;
const entry = globalThis.Deno ? "index.js" : "node.js";
const { MistralRatelimitClient } = await import(new URL(`../../${env.MISTRAL_PKG ?? "target/pkg-dev"}/${entry}`, import.meta.url).href);

// Reconnect quickly, and let a command fail rather than wait for a server that
// is gone: the client retries its asks itself.
let redis;
if (env.REDIS_CLIENT === "node-redis") {
  redis = createClient({ url: env.REDIS_URL, socket: { reconnectStrategy: () => 100 }, disableOfflineQueue: true });
  redis.on("error", () => {});
  await redis.connect();
} else {
  redis = new Redis(env.REDIS_URL, { retryStrategy: () => 100, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  redis.on("error", () => {});
  await new Promise((resolve) => redis.once("ready", resolve));
}

const client = new MistralRatelimitClient({
  apiKey: "test-key",
  serverURL: env.UPSTREAM_URL,
  requestsPerSecond: Number(env.RPS),
  requestLimit: env.REQUEST_LIMIT,
  // A refused call is retried (and the mock counts the refusal), so that an
  // overshoot shows as a 429 in its books, not as a lost call.
  maxRetries: 3,
  // ALONE: a process-local client, the baseline a shared budget is measured against.
  budget: env.ALONE ? undefined : { redis, name: "org", leaseMs: env.LEASE_MS ? Number(env.LEASE_MS) : undefined },
});

await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(env.START_AT ?? 0) - Date.now())));
const began = Date.now();
const calls = Array.from({ length: Number(env.CALLS) }, (_, i) => outcome(client, i, i % 2 === 1, Number(env.MAX_TOKENS ?? 8)));
const held = setInterval(() => {
  if (client.status().budget?.shares.some((s) => s.share > 0)) {
    console.log("holding");
    clearInterval(held);
  }
}, 20);
const outcomes = await Promise.all(calls);
clearInterval(held);
const { budget, marginMs, counters } = client.status();
console.log(JSON.stringify({ began, ended: Date.now(), outcomes, budget, marginMs, counters }));
if (env.REDIS_CLIENT === "node-redis") await redis.quit();
else redis.disconnect();
