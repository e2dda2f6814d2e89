// Cloudflare Workers: the .wasm is imported as a compiled module (no fetch, no
// timers or randomness at module scope, as Workers require).
import wasmModule from "./mistral_ratelimit_bg.wasm";
import { initSync } from "./mistral_ratelimit.js";

initSync({ module: wasmModule });

export * from "./client.js";
