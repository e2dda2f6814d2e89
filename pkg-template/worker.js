// Cloudflare Workers: the .wasm is imported as a compiled module (no fetch, no
// timers or randomness at module scope, as Workers require).
import wasmModule from "./mistral_ratelimit_bg.wasm";
import { setTekkenLoader } from "./assets.js";
import { startSync } from "./runtime.js";

startSync(wasmModule);
// Imported only when first needed: a Worker that never counts never parses them.
setTekkenLoader(async () => {
  const [tekken, module, vocabulary] = await Promise.all([
    import("./mistral_ratelimit_tekken.js"),
    import("./mistral_ratelimit_tekken_bg.wasm"),
    import("./tekken.bin"),
  ]);
  tekken.initSync({ module: module.default });
  return new tekken.TokenCounter(new Uint8Array(vocabulary.default));
});

export * from "./client.js";
export { MistralBudget } from "./durable-budget.js";
