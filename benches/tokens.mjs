// Token counting in wasm under Node, beside the JS tokenizers people use today, on
// the same text in the same process: build time, throughput, sizes.
// Run by `make bench` on the release package (MISTRAL_PKG, default pkg/).
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

import { getEncoding } from "js-tiktoken";

const pkgDir = new URL(`../${process.env.MISTRAL_PKG ?? "pkg"}/`, import.meta.url);
const glue = await import(new URL("mistral_ratelimit_tekken.js", pkgDir));
glue.initSync({ module: readFileSync(new URL("mistral_ratelimit_tekken_bg.wasm", pkgDir)) });

// The conformance corpus (13 scripts, code, JSON, emoji), repeated to ~256 KB.
const corpusDir = new URL("../tests/tekken/corpus/", import.meta.url);
const corpus = readdirSync(corpusDir).map((f) => readFileSync(new URL(f, corpusDir), "utf8")).join("\n");
const text = corpus.repeat(Math.ceil((256 * 1024) / corpus.length));
const mb = Buffer.byteLength(text) / 1e6;

const ms = (f) => {
  const t = performance.now();
  const r = f();
  return [performance.now() - t, r];
};
/** Median MB/s over `rounds` runs, after a warm-up run. */
const throughput = (count, rounds = 7) => {
  count(text);
  const times = Array.from({ length: rounds }, () => ms(() => count(text))[0]).sort((a, b) => a - b);
  return mb / (times[Math.floor(rounds / 2)] / 1000);
};

const [ourBuild, counter] = ms(() => {
  const c = new glue.TokenCounter(readFileSync(new URL("tekken.bin", pkgDir)));
  c.count(""); // builds the BPE
  return c;
});
const [tiktokenBuild, cl100k] = ms(() => getEncoding("cl100k_base"));
const [gptBuild, gpt] = await (async () => {
  const t = performance.now();
  const m = await import("gpt-tokenizer"); // o200k_base; its tables load at import
  return [performance.now() - t, m];
})();

const rows = [
  ["mistral-ratelimit (Tekken, wasm)", ourBuild, throughput((t) => counter.count(t))],
  ["js-tiktoken (cl100k, JS)", tiktokenBuild, throughput((t) => cl100k.encode(t).length)],
  ["gpt-tokenizer (o200k, JS)", gptBuild, throughput((t) => gpt.countTokens(t))],
];
const baseline = rows[2][2];
console.log(`== ${(mb).toFixed(2)} MB of mixed text (the Tekken corpus, repeated), Node ${process.version}`);
for (const [name, build, mbs] of rows) {
  console.log(`${name.padEnd(34)} build ${build.toFixed(0).padStart(5)} ms   ${mbs.toFixed(2).padStart(6)} MB/s   ${(mbs / baseline).toFixed(2)}× gpt-tokenizer`);
}

const size = (f) => {
  const b = readFileSync(new URL(f, pkgDir));
  return `${(b.length / 1024).toFixed(0)} KiB raw, ${(gzipSync(b, { level: 9 }).length / 1024).toFixed(0)} KiB gzip`;
};
console.log(`client .wasm (always):        ${size("mistral_ratelimit_bg.wasm")}`);
console.log(`tokenizer .wasm (on demand):  ${size("mistral_ratelimit_tekken_bg.wasm")}`);
console.log(`tekken.bin (on demand):       ${size("tekken.bin")}`);
