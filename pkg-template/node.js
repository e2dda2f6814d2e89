// Node: the .wasm is read from disk beside this file.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTekkenLoader } from "./assets.js";
import { startSync } from "./runtime.js";

startSync(readFileSync(new URL("./mistral_ratelimit_bg.wasm", import.meta.url)));
setTekkenLoader(async () => {
  const tekken = await import("./mistral_ratelimit_tekken.js");
  tekken.initSync({ module: await readFile(new URL("./mistral_ratelimit_tekken_bg.wasm", import.meta.url)) });
  return new tekken.TokenCounter(await readFile(new URL("./tekken.bin", import.meta.url)));
});

export * from "./client.js";
