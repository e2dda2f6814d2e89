// The Redis store held to the Rust model: holders race random asks through a real
// Redis (the compare-and-set script, its NOSCRIPT fallback, conflicts and retries),
// and the writes that landed, replayed in order through one coordinator in
// memory, give the same grants and the same final state. A lost update would
// show as a fork in the chain of versions.
import { test } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { createClient } from "redis";

import "../client/helpers.mjs"; // starts the package's wasm
import { startRedis } from "./harness.mjs";

const pkgDir = new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url);
const { redisLease } = await import(new URL("redis-budget.js", pkgDir));
const runtime = await import(new URL("runtime.js", pkgDir));

const LEASE_MS = 1000;
const LANES = [
  { unit: "requests", windowMs: 1000, limit: 5 },
  { unit: "tokens", windowMs: 60_000, limit: 1000 },
  { unit: "tokens", windowMs: 31 * 86_400_000, limit: 100_000 },
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A small deterministic generator, so that a failure can be replayed.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function randomAsk(holder, seq, next) {
  const held = LANES.map((l) => next(Math.floor(l.limit / 2) + 1));
  return {
    holder,
    seq,
    lanes: LANES,
    held,
    applied: LANES.map((l) => next(l.limit + 1)),
    clearMs: LANES.map((l) => next(Math.min(l.windowMs, 2000))),
    want: held.map((h, i) => h + next(LANES[i].limit)),
  };
}

test("random asks raced through Redis by 4 holders give the grants one coordinator gives them in order", async () => {
  const redis = await startRedis();
  const clients = [
    new Redis(redis.port, "127.0.0.1"),
    new Redis(redis.port, "127.0.0.1"),
    createClient({ url: redis.url }),
    createClient({ url: redis.url }),
  ];
  try {
    await Promise.all(clients.slice(2).map((c) => c.connect()));
    const commits = [];
    const onCommit = (c) => commits.push(structuredClone(c));
    const seed = Number(process.env.SEED ?? Date.now() % 1e9);
    console.log(`seed ${seed}`);
    await Promise.all(
      clients.map(async (client, h) => {
        const next = rng(seed + h);
        const lease = redisLease(client, "diff", LEASE_MS, onCommit);
        // Holders 2 and 3 stop early: their leases expire while others go on.
        for (let seq = 1; seq <= (h < 2 ? 40 : 15); seq++) {
          if (h === 0 && seq === 20) await clients[0].script("FLUSH"); // every later call meets NOSCRIPT once
          await lease(randomAsk(`h${h}`, seq, next));
          await sleep(next(60));
        }
      }),
    );
    // One chain of versions from the empty budget: no two writes from one state.
    const byFrom = new Map();
    for (const c of commits) {
      assert.ok(!byFrom.has(c.from), `two writes from version '${c.from}': a lost update`);
      byFrom.set(c.from, c);
    }
    const { BudgetCoordinator } = runtime.live();
    const model = new BudgetCoordinator(undefined, LEASE_MS);
    let version = "";
    for (let n = 0; n < commits.length; n++) {
      const c = byFrom.get(version);
      assert.ok(c, `the chain breaks after ${n} of ${commits.length} writes`);
      assert.deepEqual(model.lease(c.ask, c.now), c.grant, `write ${n} (${c.ask.holder} #${c.ask.seq})`);
      version = c.version;
    }
    assert.equal(commits.length, 40 + 40 + 15 + 15);
    const stored = await clients[0].hget("mistral-ratelimit:{diff}", "state");
    assert.equal(stored, model.save(), "Redis holds the model's state");
    model.free();
  } finally {
    clients[0].disconnect();
    clients[1].disconnect();
    await Promise.all(clients.slice(2).map((c) => c.quit()));
    await redis.stop();
  }
});
