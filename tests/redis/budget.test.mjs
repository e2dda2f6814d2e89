// Separate processes (Node with ioredis, Node with node-redis, Deno) spend one
// budget on a real Redis: together they stay within the limit and use it, through
// a Redis that is killed (its state lost) and restarted, and the death of one of
// them by SIGKILL.
import { test } from "node:test";
import assert from "node:assert/strict";

import { oracle, withMock } from "../client/helpers.mjs";
import { spawnDeno, spawnNode, startRedis } from "./harness.mjs";

const RPS = 5;
const holder = new URL("./holder.mjs", import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ideal = (calls) => oracle(Array.from({ length: calls }, () => ({ total: 1 })), { rps: RPS, tpm: 1e12, serviceMs: 200 });

// Processes of `kinds` ("ioredis", "node-redis", "deno"), each making `calls` calls
// from the same instant (once all have started); `leaseMs` for the budget,
// `requestLimit` for how the clients read RPS, `maxTokens` for each call.
function spawnHolders(mock, redis, kinds, calls, { leaseMs, startInMs = 3000, requestLimit, maxTokens } = {}) {
  const env = {
    REDIS_URL: redis.url,
    UPSTREAM_URL: mock.url,
    RPS: String(RPS),
    CALLS: String(calls),
    START_AT: String(Date.now() + startInMs),
    ...(leaseMs ? { LEASE_MS: String(leaseMs) } : {}),
    ...(requestLimit ? { REQUEST_LIMIT: requestLimit } : {}),
    ...(maxTokens ? { MAX_TOKENS: String(maxTokens) } : {}),
  };
  return kinds.map((kind) =>
    kind === "deno" ? spawnDeno(holder, [], env) : spawnNode(holder, [], { ...env, REDIS_CLIENT: kind }),
  );
}

// Each process's report (its last line), once all have exited.
async function reports(children) {
  return Promise.all(
    children.map(async (c) => {
      const lines = await c.lines;
      assert.equal(c.child.exitCode, 0, `a holder exited with ${c.child.exitCode}: ${lines.join("\n")}`);
      return JSON.parse(lines.at(-1));
    }),
  );
}

// Within the limit in every second the server admitted, by the mock's own count,
// and each call sent once (plus a retry for any refusal).
async function assertWithin(mock, calls, refusals) {
  const stats = await mock.stats();
  assert.ok(stats.rate_limited <= refusals, `${stats.rate_limited} 429s in ${calls} calls`);
  assert.equal(stats.requests, calls + stats.rate_limited, "each call reached the server once, plus its retries");
  assert.ok(stats.busiest_1s_admitted <= RPS, `${stats.busiest_1s_admitted} requests in one second`);
}

test("4 Node processes and 1 Deno process, one budget on Redis: 300 calls at 5 rps, plain and streamed: none lost, none refused, 0.9 of the budget used", () =>
  withMock(["--rps", String(RPS), "--latency-ms", "20-200"], async (mock) => {
    const redis = await startRedis();
    try {
      const kinds = ["ioredis", "ioredis", "node-redis", "node-redis", "deno"];
      const done = await reports(spawnHolders(mock, redis, kinds, 60));
      const outcomes = done.flatMap((r) => r.outcomes);
      assert.equal(outcomes.length, 300);
      assert.deepEqual(outcomes.filter((o) => o !== "ok"), []);
      await assertWithin(mock, 300, 0);
      const makespan = Math.max(...done.map((r) => r.ended)) - Math.min(...done.map((r) => r.began));
      const use = ideal(300) / makespan;
      const asks = done.reduce((n, r) => n + r.budget.asks, 0);
      const began = Math.min(...done.map((r) => r.began));
      const ends = done.map((r, i) => `${kinds[i]} ${((r.ended - began) / 1000).toFixed(1)} s, ${r.budget.asks} asks, margin ${r.marginMs} ms, ${JSON.stringify(r.counters)}`).join("; ");
      console.log(`budget use ${use.toFixed(3)} (makespan ${(makespan / 1000).toFixed(1)} s); ${asks} asks, ${((100 * asks) / 300).toFixed(1)} per 100 calls (${ends})`);
      // Measured 0.92: five holders of a 5 rps budget hold one request each, so
      // each pays its own arrival margin (15 ms a request, 100 ms for its first
      // 8) and waits its turn at the start; the issue asks 0.95 (see its notes).
      assert.ok(use >= 0.9, `budget use ${use.toFixed(3)}`);
      for (const r of done) assert.equal(r.budget.state, "shared");
    } finally {
      await redis.stop();
    }
  }));

test("Redis killed mid-run (its state lost) and restarted: nothing lost, no second over the limit, every holder back", () =>
  withMock(["--rps", String(RPS), "--latency-ms", "20-200"], async (mock) => {
    const redis = await startRedis();
    try {
      const children = spawnHolders(mock, redis, ["ioredis", "node-redis", "ioredis"], 50, { startInMs: 1500 });
      await sleep(1500 + 6000);
      await redis.kill();
      // Longer than a renewal's interval, so that every holder meets the outage.
      await sleep(9000);
      await redis.restart();
      const done = await reports(children);
      assert.deepEqual(done.flatMap((r) => r.outcomes).filter((o) => o !== "ok"), []);
      await assertWithin(mock, 150, 0);
      for (const r of done) {
        assert.ok(r.budget.failures > 0, "asks failed while Redis was down");
        assert.equal(r.budget.state, "shared", "rejoined after it");
      }
    } finally {
      await redis.stop();
    }
  }));

test("a process killed (SIGKILL) holding a lease: its share returns within the lease and a window", () =>
  withMock(["--rps", String(RPS), "--latency-ms", "20-200"], async (mock) => {
    const redis = await startRedis();
    try {
      const leaseMs = 3000;
      const [doomed] = spawnHolders(mock, redis, ["ioredis"], 200, { leaseMs, startInMs: 0 });
      await doomed.waitFor("holding");
      doomed.kill("SIGKILL");
      await doomed.lines;
      const started = Date.now();
      const done = await reports(spawnHolders(mock, redis, ["ioredis", "node-redis"], 60, { leaseMs, startInMs: 0 }));
      const makespan = Math.max(...done.map((r) => r.ended)) - started;
      assert.deepEqual(done.flatMap((r) => r.outcomes).filter((o) => o !== "ok"), []);
      const stats = await mock.stats();
      assert.equal(stats.rate_limited, 0);
      assert.ok(stats.busiest_1s_admitted <= RPS);
      // 120 calls at the full rate, after at most a lease, a window and a margin,
      // plus the processes' start-up.
      const bound = ideal(120) + leaseMs + 1400 + 2000;
      assert.ok(makespan <= bound, `makespan ${makespan} ms, bound ${bound.toFixed(0)} ms`);
    } finally {
      await redis.stop();
    }
  }));

// A mock that caps requests in flight at RPS (arrivals unlimited), whose streams
// of 130 tokens at most take up to 1.3 s.
const IN_FLIGHT = ["--max-in-flight", String(RPS), "--rps", "1000", "--stream-tokens-per-second", "100", "--latency-ms", "20-200"];

test("3 processes share a cap of 5 requests in flight on Redis: 90 calls of up to 1.3 s, none refused, never more than 5 in flight", () =>
  withMock(IN_FLIGHT, async (mock) => {
    const redis = await startRedis();
    try {
      const kinds = ["ioredis", "node-redis", "deno"];
      const done = await reports(spawnHolders(mock, redis, kinds, 30, { requestLimit: "concurrency", maxTokens: 130 }));
      assert.deepEqual(done.flatMap((r) => r.outcomes).filter((o) => o !== "ok"), []);
      const stats = await mock.stats();
      const total = stats.in_flight_ms.reduce((a, b) => a + b, 0);
      const atCap = (stats.in_flight_ms[RPS] ?? 0) / total;
      const asks = done.reduce((n, r) => n + r.budget.asks, 0);
      const began = Math.min(...done.map((r) => r.began));
      const ends = done.map((r) => ((r.ended - began) / 1000).toFixed(1)).join(", ");
      console.log(`${stats.rate_limited} 429s, busiest ${stats.busiest_in_flight} in flight, ${(100 * atCap).toFixed(1)}% of the time at ${RPS}, ${asks} asks; ended at ${ends} s; ms at each level ${stats.in_flight_ms}`);
      assert.equal(stats.rate_limited, 0);
      assert.ok(stats.busiest_in_flight <= RPS, `${stats.busiest_in_flight} in flight`);
      // Measured 88-90%: 5 slots split 2, 2, 1 among equal queues, so the third
      // holder ends last, alone, a round trip behind each slot the others free.
      // One client alone keeps 95%. 70% when the last calls of a process did not
      // report their ends before it exited: their slots stayed counted for a lease.
      assert.ok(atCap >= 0.75, `${(100 * atCap).toFixed(1)}% of the time at ${RPS}`);
      for (const r of done) {
        const slots = r.budget.shares.find((s) => s.unit === "requests" && s.windowMs === 0);
        assert.equal(slots?.limit, RPS, "the cap is a shared lane");
      }
    } finally {
      await redis.stop();
    }
  }));

test("a process killed (SIGKILL) with requests in flight: its slots return with its lease", () =>
  withMock(IN_FLIGHT, async (mock) => {
    const redis = await startRedis();
    try {
      const leaseMs = 3000;
      const options = { leaseMs, startInMs: 0, requestLimit: "concurrency", maxTokens: 130 };
      const [doomed] = spawnHolders(mock, redis, ["ioredis"], 200, options);
      await doomed.waitFor("holding");
      doomed.kill("SIGKILL");
      await doomed.lines;
      const started = Date.now();
      const done = await reports(spawnHolders(mock, redis, ["ioredis", "node-redis"], 20, options));
      const makespan = Math.max(...done.map((r) => r.ended)) - started;
      assert.deepEqual(done.flatMap((r) => r.outcomes).filter((o) => o !== "ok"), []);
      const stats = await mock.stats();
      assert.equal(stats.rate_limited, 0);
      assert.ok(stats.busiest_in_flight <= RPS, `${stats.busiest_in_flight} in flight`);
      // 40 calls of 0.65 to 1.3 s, 5 at a time: about 9 s, after at most a lease
      // and a margin, plus the processes' start-up (measured 11.5 s in all).
      const bound = 9000 + leaseMs + 500 + 3000;
      console.log(`makespan ${makespan} ms after the kill, bound ${bound} ms`);
      assert.ok(makespan <= bound, `makespan ${makespan} ms, bound ${bound} ms`);
    } finally {
      await redis.stop();
    }
  }));
