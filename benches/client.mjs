// Client measurements against the mock (run by `make bench` through with-mock.sh):
//   1. the time this client adds to a call, against a raw fetch to the same mock;
//   2. the size of the release .wasm, raw and gzip.
// How much of a budget it uses, beside the official SDK, is benches/budget.mjs.
// Figures are ratios against a baseline run in the same process where possible.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

import { pkg, startMock } from "../tests/client/helpers.mjs";

const pkgDir = new URL(`../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url);

// The mock draws a reply's length from the request's bytes, and the client sends
// `stream: false` where the caller left it out: a raw fetch of the caller's own
// JSON is answered with another length, and at the mock's generation speed each
// token more is 5 ms that looks like the client's. So the raw fetch sends the
// client's bytes, and each pair is checked to have been answered alike.
const wire = (request) => JSON.stringify({ ...request, stream: false });

const time = async (f, n) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t) / n;
};
const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const us = (ms) => (ms * 1000).toFixed(0);

/**
 * Sequential calls through the client and through a raw fetch of the same bytes,
 * on a mock started with `mockArgs`; then `more(raw, ours)`, on the same mock.
 */
async function timeAdded(label, mockArgs, more = async () => {}) {
  const mock = await startMock(mockArgs);
  try {
    const request = { model: "mistral-small-latest", messages: [{ role: "user", content: "hi" }], max_tokens: 4 };
    const init = (body) => ({ method: "POST", headers: { authorization: "Bearer k", "content-type": "application/json" }, body });
    const raw = async (r = request) => (await fetch(`${mock.url}/v1/chat/completions`, init(wire(r)))).json();
    // What any client that can cancel or time out a call pays: fetch with a signal.
    const signalled = async () => (await fetch(`${mock.url}/v1/chat/completions`, { ...init(wire(request)), signal: new AbortController().signal })).json();
    const c = new pkg.MistralRatelimitClient({ apiKey: "k", serverURL: mock.url, requestsPerSecond: 1e6, tokensPerMinute: 1e12 });
    const ours = (r = request) => c.chat.complete(r);
    const [a, b] = [await raw(), await ours()];
    if (a.usage.completion_tokens !== b.usage.completion_tokens) {
      throw new Error(`the raw fetch and the client were answered differently (${JSON.stringify(a.usage)}, ${JSON.stringify(b.usage)}): they sent different requests`);
    }
    for (const f of [raw, signalled, ours]) await time(f, 100); // warm every path up
    const rounds = [];
    for (let r = 0; r < 5; r++) rounds.push([await time(raw, 200), await time(signalled, 200), await time(ours, 200)]);
    const [rawMs, signalMs, oursMs] = [0, 1, 2].map((i) => med(rounds.map((x) => x[i])));
    console.log(`${label}: raw fetch ${us(rawMs)} µs/call, with a signal ${us(signalMs)} µs/call, mistral-ratelimit ${us(oursMs)} µs/call: ` +
      `+${us(oursMs - rawMs)} µs over the raw call (${(oursMs / rawMs).toFixed(2)}×), +${us(oursMs - signalMs)} µs over the signalled one; median of 5 interleaved rounds of 200`);
    await more(raw, ours);
  } finally {
    mock.stop();
  }
}

console.log("== time added per call: sequential chat calls (max_tokens 4), limits off");
await timeAdded("at the mock's generation speed (200 tokens/s)", []);
await timeAdded("generation off", ["--stream-tokens-per-second", "1000000000"], async (raw, ours) => {
  // A long prompt: what the client does with the body (estimate, copies) grows with it.
  const long = { model: "mistral-small-latest", messages: [{ role: "user", content: "lorem ipsum ".repeat(20_000) }], max_tokens: 4 };
  const [rawLong, oursLong] = [() => raw(long), () => ours(long)];
  await time(rawLong, 20);
  await time(oursLong, 20);
  const longRounds = [];
  for (let r = 0; r < 5; r++) longRounds.push([await time(rawLong, 40), await time(oursLong, 40)]);
  const [rawL, oursL] = [0, 1].map((i) => med(longRounds.map((x) => x[i])));
  console.log(`a 240 KB prompt: raw fetch ${us(rawL)} µs/call, mistral-ratelimit ${us(oursL)} µs/call: +${us(oursL - rawL)} µs; median of 5 rounds of 40`);
});

console.log("\n== package size");
const dirs = new Map([pkgDir, new URL("../pkg/", import.meta.url)].map((d) => [d.href, d]));
for (const dir of dirs.values()) {
  try {
    const wasm = readFileSync(new URL("mistral_ratelimit_bg.wasm", dir));
    const js = ["mistral_ratelimit.js", "client.js", "runtime.js"].map((f) => readFileSync(new URL(f, dir))).reduce((n, b) => n + b.length, 0);
    console.log(`${dir.pathname.split("/").slice(-2)[0].padEnd(8)} .wasm ${(wasm.length / 1024).toFixed(0)} KiB raw, ${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(0)} KiB gzip; JS ${(js / 1024).toFixed(0)} KiB`);
  } catch {
    console.log(`${dir.pathname}: not built (make pkg builds the release package)`);
  }
}
