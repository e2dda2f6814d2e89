// A budget shared on Redis by separate Node processes: what it costs, beside the
// same calls from one process-local client.
//
//   make pkg && MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/redis-budget.mjs
//
// For 1, 4 and 16 processes (REDIS_PROCESSES) spending one 5 rps budget, 300 calls
// in all (odd ones streamed, fired at once), and 4 processes with clients of their
// own (no shared budget, each told the whole limit) for comparison:
//   budget use   the oracle's makespan / the processes' (see benches/budget.mjs)
//   429s         from the mock
//   trips/100    Redis round trips (the server's own count of script calls) per 100 API calls
// Then 1, 3 and 8 processes with 20 calls each, from cold. Then the time a lease
// adds to a call: one process sending one plain call every 400 ms, p50 and p99,
// with the budget on Redis and without. Then how many
// processes one budget key serves: holders asking back to back on one key, and
// the asks per second it completes. Then a cap of 5 requests in flight shared
// by 1, 3 and 8 processes (120 calls of 0.65-1.3 s against a mock that caps
// requests in flight at 5), beside one process with a client of its own: the
// time the mock had 5 in flight, and the pace against that one process.
// REDIS_QUICK=1 stops after the first table (and skips its baseline row).
import { oracle, pkg, startMock } from "../tests/client/helpers.mjs";
import { spawnNode, startRedis } from "../tests/redis/harness.mjs";
import Redis from "ioredis";

const RPS = 5;
const CALLS = 300;
const holder = new URL("../tests/redis/holder.mjs", import.meta.url).pathname;
const pkgDir = new URL(`../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url);
const { redisLease } = await import(new URL("redis-budget.js", pkgDir));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

// Script calls the server has answered (EVALSHA and EVAL).
async function scriptCalls(redis) {
  const stats = await redis.info("commandstats");
  return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

async function shared(processes, { alone = false, each = Math.floor(CALLS / processes) } = {}) {
  const mock = await startMock(["--rps", String(RPS), "--latency-ms", "20-200"]);
  const redis = await startRedis();
  const admin = new Redis(redis.port, "127.0.0.1");
  try {
    const env = { ...(alone ? { ALONE: "1" } : {}), REDIS_URL: redis.url, UPSTREAM_URL: mock.url, RPS: String(RPS), CALLS: String(each), START_AT: String(Date.now() + 2000 + 150 * processes) };
    const children = Array.from({ length: processes }, () => spawnNode(holder, [], env));
    const reports = await Promise.all(children.map(async (c) => JSON.parse((await c.lines).at(-1))));
    const calls = each * processes;
    const makespan = Math.max(...reports.map((r) => r.ended)) - Math.min(...reports.map((r) => r.began));
    const ideal = oracle(Array.from({ length: calls }, () => ({ total: 1 })), { rps: RPS, tpm: 1e12, serviceMs: 200 });
    const stats = await mock.stats();
    return {
      processes: alone ? `${processes}, each alone` : processes,
      calls,
      lost: reports.flatMap((r) => r.outcomes).filter((o) => o !== "ok").length,
      rateLimited: stats.rate_limited,
      use: ideal / makespan,
      tripsPer100: (100 * (await scriptCalls(admin))) / calls,
      asksPer100: (100 * reports.reduce((n, r) => n + (r.budget?.asks ?? 0), 0)) / calls,
    };
  } finally {
    admin.disconnect();
    await redis.stop();
    mock.stop();
  }
}

// One plain call every 400 ms (under the limit, so none waits for budget): its
// latency from the call to its answer, p50 and p99, after 10 to warm up.
async function latency(budget) {
  const mock = await startMock(["--rps", String(RPS), "--latency-ms", "20-200"]);
  const redis = await startRedis();
  const io = new Redis(redis.port, "127.0.0.1");
  try {
    const client = new pkg.MistralRatelimitClient({
      apiKey: "k",
      serverURL: mock.url,
      requestsPerSecond: RPS,
      budget: budget ? { redis: io, name: "latency" } : undefined,
    });
    const ms = [];
    for (let i = 0; i < 60; i++) {
      const started = performance.now();
      await client.chat.complete({ model: "mistral-small-latest", messages: [{ role: "user", content: `call ${i}` }], max_tokens: 8 });
      if (i >= 10) ms.push(performance.now() - started);
      await sleep(400);
    }
    return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
  } finally {
    io.disconnect();
    await redis.stop();
    mock.stop();
  }
}

// `holders` on one key, each asking back to back for 3 s with asks that move
// shares (half of them short of their want): asks completed per second.
async function keyThroughput(holders) {
  const redis = await startRedis();
  const clients = Array.from({ length: holders }, () => new Redis(redis.port, "127.0.0.1"));
  try {
    const lanes = [{ unit: "requests", windowMs: 1000, limit: 100 }];
    let asks = 0;
    let failed = 0;
    const until = performance.now() + 3000;
    await Promise.all(
      clients.map(async (c, h) => {
        const lease = redisLease(c, "throughput");
        for (let seq = 1; performance.now() < until; seq++) {
          const want = h % 2 ? 200 : 10;
          const grant = await lease({ holder: `h${h}`, seq, lanes, held: [0], applied: [0], clearMs: [0], want: [want] }).catch(() => null);
          grant ? asks++ : failed++;
        }
      }),
    );
    return { holders, perSecond: asks / 3, failed };
  } finally {
    for (const c of clients) c.disconnect();
    await redis.stop();
  }
}

const SLOT_CALLS = 120;

// SLOT_CALLS calls split among `processes` reading RPS as requests in flight,
// sharing the cap on Redis (or, `alone`, each with a client of its own).
async function sharedSlots(processes, { alone = false } = {}) {
  const mock = await startMock(["--max-in-flight", String(RPS), "--rps", "1000", "--stream-tokens-per-second", "100", "--latency-ms", "20-200"]);
  const redis = await startRedis();
  try {
    const each = Math.floor(SLOT_CALLS / processes);
    const env = {
      ...(alone ? { ALONE: "1" } : {}),
      REDIS_URL: redis.url,
      UPSTREAM_URL: mock.url,
      RPS: String(RPS),
      REQUEST_LIMIT: "concurrency",
      MAX_TOKENS: "130",
      CALLS: String(each),
      START_AT: String(Date.now() + 2000 + 150 * processes),
    };
    const children = Array.from({ length: processes }, () => spawnNode(holder, [], env));
    const reports = await Promise.all(children.map(async (c) => JSON.parse((await c.lines).at(-1))));
    const stats = await mock.stats();
    const total = stats.in_flight_ms.reduce((a, b) => a + b, 0);
    return {
      processes: alone ? `${processes}, alone` : processes,
      calls: each * processes,
      lost: reports.flatMap((r) => r.outcomes).filter((o) => o !== "ok").length,
      rateLimited: stats.rate_limited,
      busiest: stats.busiest_in_flight,
      atCap: (stats.in_flight_ms[RPS] ?? 0) / total,
      makespan: Math.max(...reports.map((r) => r.ended)) - Math.min(...reports.map((r) => r.began)),
    };
  } finally {
    await redis.stop();
    mock.stop();
  }
}

const rows = [];
for (const processes of (process.env.REDIS_PROCESSES ?? "1,4,16").split(",").map(Number)) {
  console.error(`${processes} process(es)...`);
  rows.push(await shared(processes));
}
if (process.env.REDIS_QUICK !== "1") {
  console.error("4 processes alone...");
  rows.push(await shared(4, { alone: true }));
}
console.log("| processes | calls | lost | 429s | budget use | asks / 100 calls | Redis round trips / 100 calls |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.processes} | ${r.calls} | ${r.lost} | ${r.rateLimited} | ${r.use.toFixed(3)} | ${r.asksPer100.toFixed(1)} | ${r.tripsPer100.toFixed(1)} |`);
}
if (process.env.REDIS_QUICK === "1") process.exit(0);
// A short burst from cold, where joining, the first share and the first renewal
// cost most: 20 calls per process.
console.error("from cold...");
console.log("\n| processes, from cold | calls | lost | 429s | budget use | asks / 100 calls |\n|---|---|---|---|---|---|");
for (const processes of [1, 3, 8]) {
  const r = await shared(processes, { each: 20 });
  console.log(`| ${r.processes} | ${r.calls} | ${r.lost} | ${r.rateLimited} | ${r.use.toFixed(3)} | ${r.asksPer100.toFixed(1)} |`);
}
console.error("latency...");
const [plain, withBudget] = [await latency(false), await latency(true)];
console.log("\n| one call every 400 ms | p50 ms | p99 ms |\n|---|---|---|");
console.log(`| process-local client | ${plain.p50.toFixed(1)} | ${plain.p99.toFixed(1)} |`);
console.log(`| budget on Redis | ${withBudget.p50.toFixed(1)} | ${withBudget.p99.toFixed(1)} |`);
console.error("one key...");
console.log("\n| holders asking back to back on one key | asks / s | failed |\n|---|---|---|");
for (const holders of [1, 4, 16, 64]) {
  const r = await keyThroughput(holders);
  console.log(`| ${r.holders} | ${r.perSecond.toFixed(0)} | ${r.failed} |`);
}
console.error("requests in flight...");
const baseline = await sharedSlots(1, { alone: true });
console.log(`\n| processes sharing 5 in flight | calls | lost | 429s | busiest | time with 5 in flight | makespan | pace against one alone |\n|---|---|---|---|---|---|---|---|`);
for (const r of [baseline, await sharedSlots(1), await sharedSlots(3), await sharedSlots(8)]) {
  const pace = baseline.makespan / r.makespan;
  console.log(`| ${r.processes} | ${r.calls} | ${r.lost} | ${r.rateLimited} | ${r.busiest} | ${(100 * r.atCap).toFixed(1)}% | ${(r.makespan / 1000).toFixed(1)} s | ${pace.toFixed(3)} |`);
}
