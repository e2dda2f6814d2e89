// A budget shared by separate Workers through MistralBudget, in workerd (Miniflare):
// what it costs, beside the same calls from one isolate-local client.
//
//   make pkg && MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/shared-budget.mjs
//
// For 1, 3 and 8 Workers (separate isolates) spending one 5 rps budget, 300 calls
// in all (10 at a time per request, odd ones streamed, fired at once):
//   budget use  the oracle's makespan / the Workers' (see benches/budget.mjs)
//   429s        from the mock
//   asks/100    Durable Object round trips per 100 API calls, all of the run
//   steady      the same, from the 10th second to the 40th (no joining, no draining)
// Then the time a lease adds to a call: one Worker sending one plain call every
// 400 ms (under the limit, so no call waits for budget), its latency p50 and p99,
// with a shared budget and without. SHARED_ISOLATES (e.g. "3") picks the rows;
// SHARED_LATENCY=0 skips the latency table.
import { oracle, startMock } from "../tests/client/helpers.mjs";
import { stage, workerd } from "../tests/workerd/harness.mjs";

const RPS = 5;
const CALLS = 300;
const dir = stage();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function withWorkers(names, budget, body) {
  const mock = await startMock(["--rps", String(RPS), "--latency-ms", "20-200"]);
  const mf = await workerd(dir, names.map((name) => ({ name, budget, bindings: { UPSTREAM_URL: mock.url, RPS: String(RPS) } })));
  try {
    const workers = await Promise.all(names.map((n) => mf.getWorker(n)));
    return await body(workers, mock);
  } finally {
    await mf.dispose();
    mock.stop();
  }
}

const asks = async (workers) => {
  let n = 0;
  for (const w of workers) n += (await (await w.fetch("http://x/status")).json()).budget?.asks ?? 0;
  return n;
};

async function shared(isolates) {
  const names = Array.from({ length: isolates }, (_, i) => `w${i}`);
  return withWorkers(names, true, async (workers, mock) => {
    const perWorker = Math.floor(CALLS / isolates / 10);
    const started = performance.now();
    const steady = (async () => {
      await sleep(10_000);
      const from = await asks(workers);
      const calls0 = (await mock.stats()).requests;
      await sleep(30_000);
      return { asks: (await asks(workers)) - from, calls: (await mock.stats()).requests - calls0 };
    })();
    const outcomes = (
      await Promise.all(workers.flatMap((w) => Array.from({ length: perWorker }, () => w.fetch("http://x/calls?n=10&streamed=odd").then((r) => r.json()))))
    ).flat();
    const makespan = performance.now() - started;
    const stats = await mock.stats();
    const calls = outcomes.length;
    const ideal = oracle(Array.from({ length: calls }, () => ({ total: 1 })), { rps: RPS, tpm: 1e12, serviceMs: 200 });
    const s = await steady;
    return {
      isolates,
      calls,
      lost: outcomes.filter((o) => o !== "ok").length,
      use: ideal / makespan,
      rateLimited: stats.rate_limited,
      asksPer100: (100 * (await asks(workers))) / calls,
      steadyPer100: s.calls ? (100 * s.asks) / s.calls : NaN,
    };
  });
}

async function latency(budget) {
  return withWorkers(["w0"], budget, async ([w]) => {
    const ms = [];
    for (let i = 0; i < 60; i++) {
      const r = await (await w.fetch("http://x/timed")).json();
      if (r.outcome === "ok" && i >= 10) ms.push(r.ms);
      await sleep(400);
    }
    return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
  });
}

const rows = [];
for (const isolates of (process.env.SHARED_ISOLATES ?? "1,3,8").split(",").map(Number)) {
  console.error(`${isolates} isolate(s)...`);
  rows.push(await shared(isolates));
}
console.log("| Workers | calls | lost | 429s | budget use | DO asks / 100 calls | steady (10-40 s) |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.isolates} | ${r.calls} | ${r.lost} | ${r.rateLimited} | ${r.use.toFixed(3)} | ${r.asksPer100.toFixed(1)} | ${r.steadyPer100.toFixed(1)} |`);
}
if (process.env.SHARED_LATENCY !== "0") {
  console.error("latency...");
  const [plain, withBudget] = [await latency(false), await latency(true)];
  console.log("\n| one call every 400 ms | p50 ms | p99 ms |\n|---|---|---|");
  console.log(`| isolate-local client | ${plain.p50.toFixed(1)} | ${plain.p99.toFixed(1)} |`);
  console.log(`| shared budget (MistralBudget) | ${withBudget.p50.toFixed(1)} | ${withBudget.p99.toFixed(1)} |`);
}
