// Cloudflare Workers: the .wasm is imported as a compiled module (no fetch, no
// timers or randomness at module scope, as Workers require).
import wasmModule from "./mistral_ratelimit_bg.wasm";
import { setTekkenLoader } from "./assets.js";
import { initSync } from "./mistral_ratelimit.js";

initSync({ module: wasmModule });
// Imported only when first needed: a Worker that never counts never parses it.
setTekkenLoader(async () => new Uint8Array((await import("./tekken.bin")).default));

export * from "./client.js";
