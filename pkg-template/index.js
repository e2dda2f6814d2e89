// Browsers and Deno: the .wasm is fetched from beside this file.
import { setTekkenLoader } from "./assets.js";
import { start } from "./runtime.js";

await start();
setTekkenLoader(async () => {
  const tekken = await import("./mistral_ratelimit_tekken.js");
  const [, response] = await Promise.all([tekken.default(), fetch(new URL("./tekken.bin", import.meta.url))]);
  if (!response.ok) throw new Error(`tekken.bin: HTTP ${response.status}`);
  return new tekken.TokenCounter(new Uint8Array(await response.arrayBuffer()));
});

export * from "./client.js";
