// The wasm build loads in Node and answers: the smallest proof that the crate's
// wasm target, wasm-bindgen and the `--target web` glue agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const dir = new URL(`../../${process.env.WASM_OUT ?? "target/wasm-dev"}/`, import.meta.url);
const cargo = readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8");
const crateVersion = cargo.match(/^version = "(.+)"$/m)[1];

test("the wasm module reports the crate's version", async () => {
  const glue = await import(new URL("mistral_ratelimit.js", dir));
  glue.initSync({ module: readFileSync(new URL("mistral_ratelimit_bg.wasm", dir)) });
  assert.equal(glue.version(), crateVersion);
});
