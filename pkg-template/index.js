// Browsers and Deno: the .wasm is fetched from beside this file.
import init from "./mistral_ratelimit.js";

await init();

export * from "./client.js";
