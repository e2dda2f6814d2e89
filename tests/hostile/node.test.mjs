// A hostile server against the package in Node: every scenario of scenarios.mjs,
// each in a worker thread of its own (its own wasm instance), several at once.
//
//   MISTRAL_PKG=target/pkg-hostile node --test tests/hostile/node.test.mjs
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";

import { SCENARIOS, formatResult, settleOnce } from "./scenarios.mjs";
import { startHostileServer } from "./server.mjs";

// The package as tests/client/helpers.mjs loads it: its `node.js` entry.
const pkgURL = new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/node.js`, import.meta.url).href;
const server = await startHostileServer();
after(() => server.close());

/** Runs scenario `name` in a fresh worker; a worker that dies or stalls is a failure. */
function inWorker(name) {
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
    workerData: { pkgURL, baseURL: server.url, name },
  });
  const { promise, finish, fail } = settleOnce(name, () => worker.terminate());
  worker.once("message", finish);
  worker.once("error", (e) => fail(`the worker died: ${e?.name}: ${e?.message}`));
  worker.once("exit", (code) => fail(`the worker exited (${code}) without a result`));
  return promise;
}

describe("a hostile server", { concurrency: 6 }, () => {
  for (const { name } of SCENARIOS) {
    it(name, async () => {
      const result = await inWorker(name);
      const report = formatResult(result, server.stats()[name]);
      if (result.ok) console.log(report);
      else assert.fail(report);
    });
  }
});
