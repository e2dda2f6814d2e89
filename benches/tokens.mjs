// Token counting in wasm under Node, beside the JS tokenizers people use today, on
// the same text in the same process: build time, throughput cold and warm, sizes.
// Run by `make bench` on the release package (MISTRAL_PKG, default pkg/).
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

import { getEncoding } from "js-tiktoken";

const pkgDir = new URL(`../${process.env.MISTRAL_PKG ?? "pkg"}/`, import.meta.url);
const glue = await import(new URL("mistral_ratelimit_tekken.js", pkgDir));
glue.initSync({ module: readFileSync(new URL("mistral_ratelimit_tekken_bg.wasm", pkgDir)) });
const packed = readFileSync(new URL("tekken.bin", pkgDir));

// The conformance corpus: 13 scripts, code, JSON, emoji, whitespace (~9 KB).
const corpusDir = new URL("../tests/tekken/corpus/", import.meta.url);
const corpus = readdirSync(corpusDir).map((f) => readFileSync(new URL(f, corpusDir), "utf8")).join("\n");
// Warm: the corpus repeated to 256 K characters (~0.33 MB), counted again and
// again, as a client recounts a system prompt or a conversation's history on
// every request.
const repeated = corpus.repeat(Math.ceil((256 * 1024) / corpus.length));
const megabytes = (text) => Buffer.byteLength(text) / 1e6;

const ms = (f) => {
  const t = performance.now();
  const r = f();
  return [performance.now() - t, r];
};
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Median MB/s of `count(text)` over `rounds` runs, each after `reset()`, after a warm-up run. */
const throughput = (text, count, reset = () => {}, rounds = 31) => {
  reset();
  count(text);
  const times = Array.from({ length: rounds }, () => {
    reset();
    return ms(() => count(text))[0];
  });
  return megabytes(text) / (median(times) / 1000);
};

const [ourBuild, counter] = ms(() => {
  const c = new glue.TokenCounter(packed);
  c.count(""); // builds the BPE
  return c;
});
// Cold: a fresh counter (its BPE built outside the timing) with nothing remembered.
let fresh = null;
const freshCounter = () => {
  fresh?.free();
  fresh = new glue.TokenCounter(packed);
  fresh.count("");
};
const [tiktokenBuild, cl100k] = ms(() => getEncoding("cl100k_base"));
const [gptBuild, gpt] = await (async () => {
  const t = performance.now();
  const m = await import("gpt-tokenizer"); // o200k_base; its tables load at import
  return [performance.now() - t, m];
})();

const rows = [
  [
    "mistral-ratelimit (Tekken, wasm)",
    ourBuild,
    throughput(corpus, (t) => fresh.count(t), freshCounter),
    throughput(repeated, (t) => counter.count(t)),
  ],
  [
    "js-tiktoken (cl100k, JS)",
    tiktokenBuild,
    throughput(corpus, (t) => cl100k.encode(t).length),
    throughput(repeated, (t) => cl100k.encode(t).length),
  ],
  [
    "gpt-tokenizer (o200k, JS)",
    gptBuild,
    throughput(corpus, (t) => gpt.countTokens(t), () => gpt.clearMergeCache()),
    throughput(repeated, (t) => gpt.countTokens(t)),
  ],
];
const [, , coldBase, warmBase] = rows[2];
console.log(
  `== cold: ${megabytes(corpus).toFixed(3)} MB (the Tekken corpus) with empty caches; ` +
    `warm: ${megabytes(repeated).toFixed(2)} MB (the corpus repeated) counted again; Node ${process.version}`,
);
for (const [name, build, cold, warm] of rows) {
  console.log(
    `${name.padEnd(34)} build ${build.toFixed(0).padStart(4)} ms   ` +
      `cold ${cold.toFixed(2).padStart(6)} MB/s (${(cold / coldBase).toFixed(2)}×)   ` +
      `warm ${warm.toFixed(2).padStart(6)} MB/s (${(warm / warmBase).toFixed(2)}× gpt-tokenizer)`,
  );
}
fresh.free();

const size = (f) => {
  const b = readFileSync(new URL(f, pkgDir));
  return `${(b.length / 1024).toFixed(0)} KiB raw, ${(gzipSync(b, { level: 9 }).length / 1024).toFixed(0)} KiB gzip`;
};
console.log(`client .wasm (always):        ${size("mistral_ratelimit_bg.wasm")}`);
console.log(`tokenizer .wasm (on demand):  ${size("mistral_ratelimit_tekken_bg.wasm")}`);
console.log(`tekken.bin (on demand):       ${size("tekken.bin")}`);
