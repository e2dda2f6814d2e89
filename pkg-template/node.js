// Node: the .wasm is read from disk beside this file.
import { readFileSync } from "node:fs";
import { initSync } from "./mistral_ratelimit.js";

initSync({ module: readFileSync(new URL("./mistral_ratelimit_bg.wasm", import.meta.url)) });

export * from "./client.js";
