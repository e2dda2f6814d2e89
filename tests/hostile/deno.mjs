// A hostile server against the package in Deno, through its `index.js` entry (the
// one that fetches the .wasm from beside itself): every scenario of scenarios.mjs,
// each in a Web Worker of its own, several at once. Exits 1 on any failure.
//
//   .tools/deno/node_modules/.bin/deno run --allow-net --allow-read --allow-env tests/hostile/deno.mjs
//
// HOSTILE_URL names a running server.mjs (tests/hostile/run.sh starts one in Node);
// without it, one is started here, in Deno's node:http.
import { SCENARIOS, formatResult, pool, settleOnce } from "./scenarios.mjs";

const pkgURL = new URL(`../../${Deno.env.get("MISTRAL_PKG") ?? "target/pkg-dev"}/index.js`, import.meta.url).href;
let baseURL = Deno.env.get("HOSTILE_URL");
let local;
if (!baseURL) {
  const { startHostileServer } = await import("./server.mjs");
  local = await startHostileServer();
  baseURL = local.url;
}

/** Runs scenario `name` in a fresh worker; a worker that dies or stalls is a failure. */
function inWorker(name) {
  const worker = new Worker(new URL("./worker.mjs", import.meta.url).href, { type: "module" });
  const { promise, finish, fail } = settleOnce(name, () => worker.terminate());
  worker.onmessage = (ev) => finish(ev.data);
  worker.onerror = (ev) => {
    ev.preventDefault();
    fail(`the worker died: ${ev.message}`);
  };
  worker.postMessage({ pkgURL, baseURL, name });
  return promise;
}

const started = performance.now();
const results = await pool(SCENARIOS, 6, ({ name }) => inWorker(name));
const stats = await (await fetch(`${baseURL}/__stats`)).json();
for (const r of results) console.log(formatResult(r, stats[r.name]));
const failed = results.filter((r) => !r.ok).map((r) => r.name);
console.log(
  `deno: ${results.length - failed.length} of ${results.length} scenarios passed in ${((performance.now() - started) / 1000).toFixed(1)} s` +
    (failed.length ? `; failed: ${failed.join(", ")}` : ""),
);
await local?.close();
Deno.exit(failed.length ? 1 : 0);
