// Client measurements against the mock (run by `make bench` through with-mock.sh):
//   1. a saturation workload through this client and through the official SDK with
//      its retries on: makespan, the oracle's makespan, 429s;
//   2. the time this client adds to a call, against a raw fetch to the same mock;
//   3. the size of the release .wasm, raw and gzip.
// Figures are ratios against a baseline run in the same process where possible.
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { gzipSync } from "node:zlib";

import { Mistral } from "@mistralai/mistralai";

const pkgDir = new URL(`../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url);
const pkg = await import(new URL("node.js", pkgDir));

async function startMock(args) {
  const child = spawn(process.env.MISTRAL_MOCK_BIN, ["--port", "0", "--stream-tokens-per-second", "5000", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve) => {
    createInterface({ input: child.stdout }).on("line", (l) => {
      const m = l.match(/listening on (\S+)/);
      if (m) resolve(m[1]);
    });
  });
  return { url, stats: async () => (await fetch(`${url}/__mock/stats`)).json(), stop: () => child.kill() };
}

const N = 60;
const RPS = 5;
const TPM = 60_000;
const body = (i) => ({
  model: "mistral-small-latest",
  messages: [{ role: "user", content: `${i} `.padEnd((50 + ((i * 137) % 1400)) * 4, "lorem ipsum ") }],
  max_tokens: 20 + ((i * 53) % 280),
});

function oracle(costs, serviceMs) {
  const sent = [];
  let t = 0;
  for (const cost of costs) {
    for (;;) {
      const reqs = sent.filter((s) => s.t + 1000 > t);
      const toks = sent.filter((s) => s.t + 60_000 > t);
      if (reqs.length < RPS && toks.reduce((n, s) => n + s.cost, 0) + cost <= TPM) break;
      const [list, w] = reqs.length >= RPS ? [reqs, 1000] : [toks, 60_000];
      t = Math.min(...list.map((s) => s.t + w));
    }
    sent.push({ t, cost });
  }
  return t + serviceMs;
}

/** Runs the workload through the caller made by `contender(url)`; prints one line. */
async function saturation(name, contender) {
  const mock = await startMock(["--rps", String(RPS), "--tpm", String(TPM)]);
  const call = contender(mock.url);
  const t0 = performance.now();
  const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => call(body(i))));
  const ms = performance.now() - t0;
  const stats = await mock.stats();
  mock.stop();
  const ok = results.filter((r) => r.status === "fulfilled");
  const ideal = oracle(ok.map((r) => r.value), 100);
  console.log(
    `${name.padEnd(34)} ${String(ok.length).padStart(2)}/${N} ok  makespan ${(ms / 1000).toFixed(1)} s  ` +
      `oracle ${(ideal / 1000).toFixed(1)} s  budget use ${((100 * ideal) / ms).toFixed(1)}%  ` +
      `429s ${stats.rate_limited}  busiest 1 s ${stats.busiest_1s_requests}/${RPS}  busiest 60 s ${stats.busiest_60s_tokens}/${TPM}`,
  );
}

console.log(`== saturation: ${N} chat calls at once, mock at ${RPS} rps and ${TPM} tpm`);
await saturation("mistral-ratelimit", (url) => {
  const c = new pkg.MistralRatelimitClient({ apiKey: "k", serverURL: url, requestsPerSecond: RPS, tokensPerMinute: TPM, timeoutMs: 600_000 });
  return async (b) => (await c.chat.complete(b)).usage.total_tokens;
});
await saturation("@mistralai/mistralai, retries on", (url) => {
  const sdk = new Mistral({
    apiKey: "k",
    serverURL: url,
    retryConfig: { strategy: "backoff", backoff: { initialInterval: 500, maxInterval: 60_000, exponent: 1.5, maxElapsedTime: 600_000 }, retryConnectionErrors: true },
  });
  return async (b) => (await sdk.chat.complete({ model: b.model, messages: b.messages, maxTokens: b.max_tokens })).usage.totalTokens;
});

console.log("\n== time added per call: sequential chat calls (max_tokens 1), limits off");
{
  const mock = await startMock(["--stream-tokens-per-second", "1000000000"]);
  const request = { model: "mistral-small-latest", messages: [{ role: "user", content: "hi" }], max_tokens: 1 };
  const init = () => ({ method: "POST", headers: { authorization: "Bearer k", "content-type": "application/json" }, body: JSON.stringify(request) });
  const raw = async () => (await fetch(`${mock.url}/v1/chat/completions`, init())).json();
  // What any client that can cancel or time out a call pays: fetch with a signal.
  const signalled = async () => (await fetch(`${mock.url}/v1/chat/completions`, { ...init(), signal: new AbortController().signal })).json();
  const c = new pkg.MistralRatelimitClient({ apiKey: "k", serverURL: mock.url, requestsPerSecond: 1e6, tokensPerMinute: 1e12 });
  const ours = () => c.chat.complete(request);
  const time = async (f, n) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) await f();
    return (performance.now() - t) / n;
  };
  for (const f of [raw, signalled, ours]) await time(f, 200); // warm every path up
  const rounds = [];
  for (let r = 0; r < 5; r++) rounds.push([await time(raw, 400), await time(signalled, 400), await time(ours, 400)]);
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [rawMs, signalMs, oursMs] = [0, 1, 2].map((i) => med(rounds.map((x) => x[i])));
  const us = (ms) => (ms * 1000).toFixed(0);
  console.log(`raw fetch ${us(rawMs)} µs/call, with a signal ${us(signalMs)} µs/call, mistral-ratelimit ${us(oursMs)} µs/call: ` +
    `+${us(oursMs - rawMs)} µs over the raw call (${(oursMs / rawMs).toFixed(2)}×), +${us(oursMs - signalMs)} µs over the signalled one; median of 5 rounds of 400`);
  // A long prompt: what the client does with the body (estimate, copies) grows with it.
  const long = { ...request, messages: [{ role: "user", content: "lorem ipsum ".repeat(20_000) }] };
  const rawLong = async () => (await fetch(`${mock.url}/v1/chat/completions`, { ...init(), body: JSON.stringify(long) })).json();
  const oursLong = () => c.chat.complete(long);
  await time(rawLong, 20);
  await time(oursLong, 20);
  const longRounds = [];
  for (let r = 0; r < 5; r++) longRounds.push([await time(rawLong, 40), await time(oursLong, 40)]);
  const [rawL, oursL] = [0, 1].map((i) => med(longRounds.map((x) => x[i])));
  console.log(`a 240 KB prompt: raw fetch ${us(rawL)} µs/call, mistral-ratelimit ${us(oursL)} µs/call: +${us(oursL - rawL)} µs; median of 5 rounds of 40`);
  mock.stop();
}

console.log("\n== package size");
const dirs = new Map([pkgDir, new URL("../pkg/", import.meta.url)].map((d) => [d.href, d]));
for (const dir of dirs.values()) {
  try {
    const wasm = readFileSync(new URL("mistral_ratelimit_bg.wasm", dir));
    const js = ["mistral_ratelimit.js", "client.js"].map((f) => readFileSync(new URL(f, dir))).reduce((n, b) => n + b.length, 0);
    console.log(`${dir.pathname.split("/").slice(-2)[0].padEnd(8)} .wasm ${(wasm.length / 1024).toFixed(0)} KiB raw, ${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(0)} KiB gzip; JS ${(js / 1024).toFixed(0)} KiB`);
  } catch {
    console.log(`${dir.pathname}: not built (make pkg builds the release package)`);
  }
}
