// The Worker the workerd tests run: one client at module scope, shared by every
// request this isolate serves, as users write it.
import { MistralRatelimitClient } from "./pkg/worker.js";

import { MistralBudget } from "./pkg/worker.js";

// Bound as MISTRAL_BUDGET by the tests that share one budget between Workers:
// the package's object, plus a way to restart it (its storage kept).
export class TestBudget extends MistralBudget {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => ctx.storage.put("boots", ((await ctx.storage.get("boots")) ?? 0) + 1));
  }

  async restart() {
    this.ctx.abort("restarted by the test");
  }

  async boots() {
    return this.ctx.storage.get("boots");
  }
}

// A coordinator outage, as this isolate sees it: asks fail until then.
let outageUntil = 0;

function reachable(ns) {
  return {
    idFromName: (name) => ns.idFromName(name),
    get: (id) => ({
      lease: (ask) =>
        Date.now() < outageUntil ? Promise.reject(new Error("the coordinator is unreachable")) : ns.get(id).lease(ask),
    }),
  };
}

let client;

function shared(env) {
  client ??= new MistralRatelimitClient({
    apiKey: "test-key",
    serverURL: env.UPSTREAM_URL,
    requestsPerSecond: Number(env.RPS),
    requestLimit: env.REQUEST_LIMIT,
    maxRetries: Number(env.MAX_RETRIES ?? 0),
    budget: env.MISTRAL_BUDGET ? { durableObject: reachable(env.MISTRAL_BUDGET), name: "org" } : undefined,
  });
  return client;
}

const request = (i, maxTokens) => ({ model: "mistral-small-latest", messages: [{ role: "user", content: `call ${i}` }], max_tokens: maxTokens });

// One call, plain or streamed, of `maxTokens` at most: its outcome as a word.
async function one(c, i, stream, maxTokens = 8) {
  try {
    if (!stream) return (await c.chat.complete(request(i, maxTokens))).object === "chat.completion" ? "ok" : "odd";
    let events = 0;
    for await (const _ of c.chat.stream(request(i, maxTokens))) events++;
    return events > 0 ? "ok" : "empty";
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const c = shared(env);
    if (url.pathname === "/status") return Response.json(c.status());
    const budget = () => env.MISTRAL_BUDGET.get(env.MISTRAL_BUDGET.idFromName("org"));
    if (url.pathname === "/budget") return Response.json({ ...(await budget().status()), boots: await budget().boots() });
    if (url.pathname === "/restart") {
      await budget().restart().catch(() => {});
      return new Response("restarted");
    }
    if (url.pathname === "/outage") {
      outageUntil = Date.now() + Number(url.searchParams.get("ms"));
      return new Response("unreachable");
    }
    // /calls?n=5&streamed=odd&maxTokens=8: n calls at once; streamed all, none or
    // every other.
    const n = Number(url.searchParams.get("n") ?? 1);
    const streamed = url.searchParams.get("streamed") ?? "none";
    const maxTokens = Number(url.searchParams.get("maxTokens") ?? 8);
    const calls = Array.from({ length: n }, (_, i) => one(c, i, streamed === "all" || (streamed === "odd" && i % 2 === 1), maxTokens));
    if (url.pathname === "/timed") {
      // One plain call, and how long it took from the caller's side.
      const started = performance.now();
      const outcome = await one(c, 0, false);
      return Response.json({ outcome, ms: performance.now() - started });
    }
    if (url.pathname === "/orphan") {
      // Ends before its calls do (once it holds a share of a shared budget):
      // workerd drops what the request left behind, and no one gives the share back.
      const holding = () => c.status().budget?.shares.some((s) => s.share > 0) ?? true;
      for (let waited = 0; !holding() && waited < 5000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return new Response("gone");
    }
    return Response.json(await Promise.all(calls));
  },
};
