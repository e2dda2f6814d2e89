// The soak (soak.mjs) in Node or Deno, against the mock that scripts/run/with-mock.sh
// started. Exits 1 on any problem.
//
//   node --expose-gc tests/soak/run.mjs CALLS CONCURRENCY
//   deno run --allow-all --v8-flags=--expose-gc tests/soak/run.mjs CALLS CONCURRENCY
import { soakRun } from "./soak.mjs";

const [calls = 5000, concurrency = 50] = process.argv.slice(2).map(Number);
const runtime = globalThis.Deno ? "deno" : "node";
// Each runtime through the entry it loads: Node's, and the web one for Deno.
const entry = runtime === "deno" ? "index.js" : "node.js";
const pkg = await import(new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/${entry}`, import.meta.url));
const memory = () => {
  globalThis.gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
};
const { lines, problems } = await soakRun({ Client: pkg.MistralRatelimitClient, url: process.env.MISTRAL_MOCK_URL, calls, concurrency, memory, runtime });
console.log(lines.join("\n"));
if (problems.length) {
  console.error(`soak failed: ${problems.join("; ")}`);
  process.exit(1);
}
