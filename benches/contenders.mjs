// The ways of calling Mistral the benchmarks set side by side: this client, the
// official SDK with its retries on, and the SDK behind a p-queue pacer. Each
// `make(serverURL, { rps, tpm })` returns `call(body, stream)`, which resolves
// with the call's `{ total, completion }` tokens. Shared by benches/budget.mjs
// and benches/cold-start.mjs.
import { Mistral } from "@mistralai/mistralai";
import PQueue from "p-queue";

import { pkg } from "../tests/client/helpers.mjs";

// Before the client's queue stopped counting against timeoutMs, timeoutMs bounded
// the whole call, queue included: such a build needs it raised for a storm to wait.
let ourExtra = {};
try {
  new pkg.MistralRatelimitClient({ apiKey: "k", serverURL: "http://127.0.0.1:9", streamIdleTimeoutMs: 30_000 });
} catch (e) {
  if (!/unknown option/.test(String(e?.message))) throw e;
  ourExtra = { timeoutMs: 600_000 };
  console.error("note: this build has no streamIdleTimeoutMs, so its timeoutMs still covers time queued: running it with timeoutMs 600000");
}

const sdkOptions = (serverURL) => ({
  apiKey: "k",
  serverURL,
  retryConfig: { strategy: "backoff", backoff: { initialInterval: 500, maxInterval: 60_000, exponent: 1.5, maxElapsedTime: 600_000 }, retryConnectionErrors: true },
});

async function sdkCall(sdk, b, stream) {
  const request = { model: b.model, messages: b.messages, maxTokens: b.max_tokens };
  if (!stream) {
    const u = (await sdk.chat.complete(request)).usage;
    return { total: u.totalTokens, completion: u.completionTokens };
  }
  let u;
  for await (const ev of await sdk.chat.stream(request)) u = ev.data.usage ?? u;
  if (!u) throw new Error("the stream ended without usage");
  return { total: u.totalTokens, completion: u.completionTokens };
}

export const ours = {
  name: "mistral-ratelimit",
  make: (serverURL, w) => {
    const c = new pkg.MistralRatelimitClient({ apiKey: "k", serverURL, requestsPerSecond: w.rps, tokensPerMinute: w.tpm, ...ourExtra });
    return async (b, stream) => {
      if (!stream) {
        const u = (await c.chat.complete(b)).usage;
        return { total: u.total_tokens, completion: u.completion_tokens };
      }
      let u;
      for await (const chunk of c.chat.stream(b)) u = chunk.usage ?? u;
      if (!u) throw new Error("the stream ended without usage");
      return { total: u.total_tokens, completion: u.completion_tokens };
    };
  },
};

export const contenders = [
  ours,
  {
    name: "@mistralai/mistralai, retries on",
    make: (serverURL) => {
      const sdk = new Mistral(sdkOptions(serverURL));
      return (b, stream) => sdkCall(sdk, b, stream);
    },
  },
  {
    name: "p-queue (rps) + SDK, retries on",
    make: (serverURL, w) => {
      const sdk = new Mistral(sdkOptions(serverURL));
      const queue = new PQueue({ intervalCap: w.rps, interval: 1000, carryoverIntervalCount: true });
      return (b, stream) => queue.add(() => sdkCall(sdk, b, stream));
    },
  },
];
