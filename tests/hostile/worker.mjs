// Runs one scenario in a realm of its own (a Node worker thread or a Deno Web
// Worker), so that a trapped wasm instance or a stuck event loop spoils only that
// scenario: the host kills the worker if no result comes. Receives
// { pkgURL, baseURL, name }; posts back the scenario's result.
import { runScenario } from "./scenarios.mjs";

async function run({ pkgURL, baseURL, name }) {
  try {
    return await runScenario(await import(pkgURL), baseURL, name);
  } catch (e) {
    return { name, ok: false, failures: [`the scenario threw: ${e?.stack ?? e}`], calls: [] };
  }
}

if (globalThis.Deno !== undefined) {
  self.onmessage = async (ev) => self.postMessage(await run(ev.data));
} else {
  const { parentPort, workerData } = await import("node:worker_threads");
  parentPort.postMessage(await run(workerData));
}
