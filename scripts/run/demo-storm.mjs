// The storm of the demo page, in the terminal: the same calls through this
// client and through the naive one, against the mock at URL, and a table of both.
//
//   node scripts/run/demo-storm.mjs URL REQUESTS_PER_SECOND TOKENS_PER_MINUTE [CALLS]
import { clientStorm, naiveStorm } from "../../www/storm.js";

const [url, rps, tpm, calls = "40"] = process.argv.slice(2);
if (!url || !(Number(rps) > 0) || !(Number(tpm) > 0)) {
  console.error("usage: node scripts/run/demo-storm.mjs URL REQUESTS_PER_SECOND TOKENS_PER_MINUTE [CALLS]");
  process.exit(2);
}
const { MistralRatelimitClient } = await import(new URL(`../../${process.env.MISTRAL_PKG ?? "pkg"}/node.js`, import.meta.url));
const plan = {
  calls: Number(calls),
  promptTokens: 200,
  maxTokens: 50,
  priority: "batch",
  model: "mistral-small-latest",
  requestsPerSecond: Number(rps),
  tokensPerMinute: Number(tpm),
};
// The mock takes any key; `make demo` gives each key its own budget, and the page uses another.
const apiKey = "terminal-storm";
const client = new MistralRatelimitClient({ apiKey, serverURL: url, requestsPerSecond: plan.requestsPerSecond, tokensPerMinute: plan.tokensPerMinute });

console.log(`A storm of ${plan.calls} calls at once, on a server allowing ${rps} requests/s and ${tpm} tokens/min:`);
const ours = await clientStorm(client, plan);
// Both storms start on an empty window.
await new Promise((resolve) => setTimeout(resolve, 2000));
const naive = await naiveStorm(url, apiKey, plan);

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const rows = [
  ["", "this client", "naive client"],
  ["429s", ...[ours, naive].map((s) => String(s.refusals.length))],
  ["completed", ...[ours, naive].map((s) => `${s.completed} of ${s.calls.length}`)],
  ["makespan", ...[ours, naive].map((s) => seconds(s.makespanMs))],
  ["the last start allowed", ...[ours, naive].map((s) => seconds(s.lastStartMs))],
  ["floor (+ the quickest call)", ...[ours, naive].map((s) => seconds(s.floorMs))],
  ["floor / makespan", ...[ours, naive].map((s) => (s.floorMs / s.makespanMs).toFixed(2))],
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const row of rows) console.log(`  ${row.map((cell, i) => (i ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("   ")}`);
console.log("The limits let the last call start no sooner than the last start allowed, and it takes no less");
console.log("than the quickest call of the storm: their sum is the floor no client can beat.");
console.log("The naive client is plain fetch retrying 429s as the official SDK does (its backoff strategy on).");
