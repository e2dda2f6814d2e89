// The package's types under `tsc --strict`: what users write compiles, misuse does
// not (each @ts-expect-error must meet an error, or the build fails).
import * as main from "mistral-ratelimit";
import {
  countChatTokens,
  countTokens,
  MistralRatelimitClient,
  MistralRatelimitError,
  AuthenticationError,
  ConfigError,
  ProtocolError,
  type ContentChunk,
  type DurableObjectNamespaceLike,
  type ErrorCode,
  ModelNotOnPlanError,
  QueueTimeoutError,
  SpendingLimitError,
  RateLimitError,
  ValidationError,
  type ChatCompletionResponse,
  type ClientEvent,
  type ConversationEvent,
  type Agent,
  type EmbeddingResponse,
  type ModelCard,
} from "mistral-ratelimit";
import { MistralBudget, type DurableObjectStateLike } from "mistral-ratelimit/worker";
import * as worker from "mistral-ratelimit/worker";
import { HTTPClient, Mistral } from "@mistralai/mistralai";
import { createMistral } from "@ai-sdk/mistral";
import { Redis } from "ioredis";
import { createClient } from "redis";

const client = new MistralRatelimitClient({
  apiKey: "key",
  requestsPerSecond: 1,
  tokensPerMinute: 500_000,
  onEvent: (e: ClientEvent) => {
    if (e.type === "settled") console.log(e.refunded, e.debt);
    if (e.type === "calibrated") console.log(e.model, e.ratio.toFixed(2));
  },
});

export async function uses(signal: AbortSignal): Promise<void> {
  const r: ChatCompletionResponse = await client.chat.complete(
    { model: "mistral-small-latest", messages: [{ role: "user", content: "hi" }], max_tokens: 10 },
    { signal, priority: "batch", timeoutMs: 5_000, queueTimeoutMs: 30_000, streamIdleTimeoutMs: 10_000 },
  );
  const text: string | null | object = r.choices[0].message.content;
  console.log(text, r.usage.total_tokens);

  for await (const chunk of client.chat.stream({ model: "m", messages: [{ role: "system", content: "be brief" }] })) {
    console.log(chunk.choices[0].delta.content, chunk.usage?.total_tokens);
  }

  const started = await client.beta.conversations.start({ model: "m", inputs: "Bonjour", completion_args: { max_tokens: 5 } });
  await client.beta.conversations.append(started.conversation_id, { inputs: [{ type: "function.result", tool_call_id: "x", result: "{}" }] });
  for await (const ev of client.beta.conversations.restartStream(started.conversation_id, { from_entry_id: "msg_1" })) {
    const e: ConversationEvent = ev;
    if (e.type === "message.output.delta") console.log(e.content);
    if (e.type === "conversation.response.done") console.log(e.usage.prompt_tokens);
  }
  const history = await client.beta.conversations.getHistory(started.conversation_id);
  console.log(history.entries.length, (await client.beta.conversations.list({ page_size: 10 })).length);

  try {
    await client.beta.conversations.delete("conv_1");
  } catch (e) {
    if (e instanceof RateLimitError) console.log(e.retryAfterMs, e.rateLimitKind, e.status, e.correlationId);
    if (e instanceof ValidationError) console.log(e.detail?.[0].loc);
    if (e instanceof QueueTimeoutError) console.log(e.predictedWaitMs ?? "waited in line");
    if (e instanceof AuthenticationError) console.log("check apiKey:", e.message);
    if (e instanceof ProtocolError) console.log("the server broke the protocol:", e.correlationId);
    if (e instanceof MistralRatelimitError) {
      // The code is one of a known set: a switch over it is checked.
      switch (e.code) {
        case "rate_limited":
        case "queue_timeout":
          console.log("later");
          break;
        case "protocol":
        case "server_error":
          console.log("their side");
          break;
        default:
          console.log(e.code satisfies ErrorCode);
      }
      // @ts-expect-error: no such code ("rate_limited" is)
      if (e.code === "rate_limit") console.log("never");
    }
  }
  const status = client.status();
  const wait: number = status.lanes[0].nextAvailableMs;
  console.log(wait, status.counters.ttftP95Ms ?? 0);
  const off = client.on(() => {});
  off();
  const inFlight = new MistralRatelimitClient({ requestsPerSecond: 6, requestLimit: "both", maxConcurrentRequests: 4 });
  const cap: number | undefined = inFlight.status().inFlightLimit?.limit;
  const mine: number | null | undefined = inFlight.status().inFlightLimit?.share;
  console.log(cap, mine, status.inFlightLimit?.source === "429");
  const exact = new MistralRatelimitClient({ tokenizer: "tekken" });
  const n: number = (await countTokens("Bonjour")) + (await countChatTokens({ model: "m", messages: [] }));
  console.log(exact.status().queued, n);
}

// Mistral's newer rules: a cached prompt, the tier, a spending limit, a model off the plan.
export async function newerRules(c: MistralRatelimitClient): Promise<void> {
  c.on((e) => {
    if (e.type === "spending-limit") console.log(e.message, e.resetAt ?? "no reset stated");
  });
  try {
    const r = await c.chat.complete({
      model: "mistral-small-latest",
      messages: [{ role: "user", content: "hi" }],
      prompt_cache_key: "support-bot",
      service_tier: "auto",
    });
    console.log(r.usage.prompt_tokens_details?.cached_tokens, r.usage.service_tier === "priority");
  } catch (e) {
    if (e instanceof SpendingLimitError) console.log(e.resetAt);
    if (e instanceof ModelNotOnPlanError) console.log(e.model);
  }
  const m = c.metrics().overall;
  console.log(m.tokensCached, m.tiers.priority + m.tiers.standard);
  // @ts-expect-error: the tier is "auto" or "standard_only"
  await c.chat.complete({ model: "m", messages: [], service_tier: "priority" });
}

// A Worker: one client at module scope, its budget in the package's Durable Object,
// which only the Worker entry offers.
export { MistralBudget };
// @ts-expect-error: MistralBudget comes from "mistral-ratelimit/worker", not the main entry
void main.MistralBudget;
// The Worker entry has the rest of the package too.
export const sameClient: typeof main.MistralRatelimitClient = worker.MistralRatelimitClient;
// A subclass, as a test Worker makes; the runtime passes a DurableObjectState.
export class CountingBudget extends MistralBudget {
  constructor(ctx: DurableObjectStateLike, env: { MISTRAL_BUDGET_LEASE_MS?: string }) {
    super(ctx, env);
  }
  async holders(): Promise<number> {
    return (await this.status()).holders;
  }
}
export async function budgetMisuse(ctx: DurableObjectStateLike, budget: MistralBudget): Promise<void> {
  // @ts-expect-error: a Durable Object is made from its state and env
  new MistralBudget();
  // @ts-expect-error: the state must have storage and blockConcurrencyWhile
  new MistralBudget({}, {});
  // @ts-expect-error: lease takes the protocol's message, made by the client
  await budget.lease("more please");
  console.log(ctx.storage, (await budget.status()).lanes[0]?.cooling);
}
export function workerClient(env: { MISTRAL_BUDGET: DurableObjectNamespaceLike }): MistralRatelimitClient {
  const shared = new MistralRatelimitClient({
    requestsPerSecond: 5,
    budget: { durableObject: env.MISTRAL_BUDGET, name: "my-org" },
    onEvent: (e) => {
      if (e.type === "budget") console.log(e.state, e.holders);
    },
  });
  const b = shared.status().budget;
  if (b && b.state !== "shared") console.log(b.failures, b.shares[0]?.share, shared.status().lanes[0].share);
  return shared;
}

// Node or Deno processes: one budget on Redis, through either client users have.
export async function redisClients(): Promise<void> {
  const io = new Redis();
  const nodeRedis = createClient();
  await nodeRedis.connect();
  for (const redis of [io, nodeRedis]) {
    const c = new MistralRatelimitClient({ tokensPerMinute: 500_000, budget: { redis, name: "my-org", leaseMs: 15_000 } });
    console.log(c.status().budget?.state);
  }
}

// A web app: its tabs share one budget.
export const inTabs = new MistralRatelimitClient({ requestsPerSecond: 5, budget: { tabs: "my-app" } });

// Content chunks are Mistral's union: `type` tells them apart, and a chunk type
// added after this version falls through to `default`.
export function chunkText(content: string | ContentChunk[] | null | undefined): string {
  if (typeof content === "string" || !content) return content ?? "";
  return content
    .map((chunk) => {
      switch (chunk.type) {
        case "text":
          return chunk.text;
        case "thinking":
          return chunk.thinking.map((t) => (t.type === "text" ? t.text : "")).join("");
        case "image_url":
          return typeof chunk.image_url === "string" ? chunk.image_url : chunk.image_url.url;
        case "document_url":
          return chunk.document_name ?? chunk.document_url;
        case "reference":
          return chunk.reference_ids.join(",");
        case "tool_reference":
          return `${chunk.title} ${chunk.url ?? ""}`;
        case "tool_file":
        case "file":
          return chunk.file_id;
        case "input_audio":
          return chunk.input_audio.slice(0, 8);
        default: {
          const other: string = chunk.type;
          // @ts-expect-error: an unknown chunk's fields are unknown
          const text: string = chunk.text;
          return `${other}${text}`;
        }
      }
    })
    .join("");
}

export async function chunks(): Promise<void> {
  const r = await client.chat.complete({
    model: "pixtral-12b-latest",
    messages: [
      { role: "system", content: [{ type: "text", text: "Describe images." }] },
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
          { type: "document_url", document_url: "https://example.com/a.pdf" },
          { type: "input_audio", input_audio: "UklGR..." },
          { type: "file", file_id: "file_1" },
        ],
      },
    ],
  });
  console.log(chunkText(r.choices[0].message.content));
  for await (const ev of client.beta.conversations.startStream({ model: "m", inputs: "hi" })) {
    if (ev.type === "message.output.delta") console.log(typeof ev.content === "string" ? ev.content : chunkText([ev.content]));
  }
  // @ts-expect-error: a text chunk's field is text
  await client.chat.complete({ model: "m", messages: [{ role: "user", content: [{ type: "text", content: "hi" }] }] });
  // @ts-expect-error: no such chunk type (it is "image_url")
  await client.chat.complete({ model: "m", messages: [{ role: "user", content: [{ type: "image", image_url: "x" }] }] });
  // @ts-expect-error: an image's detail is "low", "auto" or "high"
  await client.chat.complete({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x", detail: "max" } }] }] });
  // @ts-expect-error: a system message holds text and thinking, not images
  await client.chat.complete({ model: "m", messages: [{ role: "system", content: [{ type: "image_url", image_url: "x" }] }] });
}

export async function misuse(): Promise<void> {
  // @ts-expect-error: a Redis budget takes a client with eval, not a URL
  new MistralRatelimitClient({ budget: { redis: "redis://127.0.0.1", name: "my-org" } });
  // @ts-expect-error: a budget needs its name
  new MistralRatelimitClient({ budget: { durableObject: {} as DurableObjectNamespaceLike } });
  // @ts-expect-error: an option that does not exist
  new MistralRatelimitClient({ tokensPerMinit: 5 });
  // @ts-expect-error: a limit is a number
  new MistralRatelimitClient({ requestsPerSecond: "5" });
  // @ts-expect-error: requestLimit is "rate", "concurrency", "both" or "auto"
  new MistralRatelimitClient({ requestLimit: "concurrent" });
  // @ts-expect-error: priority is "interactive" or "batch"
  await client.chat.complete({ model: "m", messages: [] }, { priority: "urgent" });
  // @ts-expect-error: messages are required
  await client.chat.complete({ model: "m" });
  // @ts-expect-error: a role Mistral does not know
  await client.chat.complete({ model: "m", messages: [{ role: "robot", content: "x" }] });
  // @ts-expect-error: append takes the conversation id first
  await client.beta.conversations.append({ inputs: "x" });
  // @ts-expect-error: restart needs from_entry_id
  await client.beta.conversations.restart("conv_1", { inputs: "x" });
  // @ts-expect-error: a timeout is a number of milliseconds
  await client.chat.complete({ model: "m", messages: [] }, { queueTimeoutMs: "1m" });
  // @ts-expect-error: no such tokenizer
  new MistralRatelimitClient({ tokenizer: "cl100k" });
  // @ts-expect-error: countTokens takes text
  await countTokens(42);
  // @ts-expect-error: a stream is iterated, not awaited for a response
  const r: ChatCompletionResponse = await client.chat.stream({ model: "m", messages: [] });
  console.log(r);
  // @ts-expect-error: a Redis budget needs the client's eval, not just any object
  new MistralRatelimitClient({ budget: { redis: { get: async () => "x" }, name: "my-org" } });
  // @ts-expect-error: a namespace binding's stub must answer lease
  new MistralRatelimitClient({ budget: { durableObject: { idFromName: () => 1, get: () => ({}) }, name: "my-org" } });
  try {
    await client.models.list();
  } catch (e) {
    // @ts-expect-error: no error class is named ConfigErr
    if (e instanceof ConfigError && e.name === "ConfigErr") console.log(e);
  }
}

export async function theRestOfTheApi(): Promise<void> {
  const fim = await client.fim.complete({ model: "codestral-latest", prompt: "def f(", suffix: "return x", max_tokens: 16 });
  console.log(fim.usage.total_tokens);
  for await (const chunk of client.fim.stream({ model: "codestral-latest", prompt: "fn main() {" })) console.log(chunk.choices[0].delta.content);
  await client.agents.complete({ agent_id: "ag_1", messages: [{ role: "user", content: "hi" }] });
  const embedded: EmbeddingResponse = await client.embeddings.create({ model: "mistral-embed", input: ["a", "b"] });
  console.log(embedded.data[0].embedding, embedded.usage.prompt_tokens);
  const many = await client.embeddings.createMany(
    { model: "mistral-embed", input: ["a", "b", "c"] },
    { onProgress: ({ done, total }) => console.log(done / total), maxInputsPerRequest: 100 },
  );
  console.log(many.data.length);
  // @ts-expect-error: createMany takes input, as create does, not inputs
  await client.embeddings.createMany({ model: "mistral-embed", inputs: ["a"] });
  const moderated = await client.classifiers.moderateChat({ model: "mistral-moderation-latest", input: [{ role: "user", content: "hi" }] });
  console.log(moderated.results[0].category_scores);
  await client.classifiers.classifyChat({ model: "m", input: { messages: [{ role: "user", content: "hi" }] } });
  const models: ModelCard[] = (await client.models.list()).data;
  console.log(models[0].capabilities, (await client.models.delete("ft:x:y")).deleted);
  const agent: Agent = await client.beta.agents.create({ model: "mistral-small-latest", name: "helper", handoffs: ["ag_2"] });
  await client.beta.agents.update(agent.id, { instructions: "brief" });
  await client.beta.agents.get(agent.id, { agent_version: "stable" });
  await client.beta.agents.createVersionAlias(agent.id, "stable", agent.version);
  await client.beta.agents.getVersion(agent.id, 0);

  // @ts-expect-error: FIM needs a prompt
  await client.fim.complete({ model: "codestral-latest", suffix: "x" });
  // @ts-expect-error: the legacy agents' completion names its agent
  await client.agents.complete({ messages: [{ role: "user", content: "hi" }] });
  // @ts-expect-error: an embedding's input is text, not messages
  await client.embeddings.create({ model: "mistral-embed", input: [{ role: "user", content: "hi" }] });
  // @ts-expect-error: embeddings do not stream
  client.embeddings.stream({ model: "mistral-embed", input: "x" });
  // @ts-expect-error: an agent needs a name
  await client.beta.agents.create({ model: "mistral-small-latest" });
  // @ts-expect-error: updateVersion takes the version to make current
  await client.beta.agents.updateVersion(agent.id);
  // @ts-expect-error: retrieve takes a model id
  await client.models.retrieve({ id: "mistral-small-latest" });
}

export function otherClients(): void {
  const sdk = new Mistral({ httpClient: new HTTPClient({ fetcher: client.fetch }) });
  const provider = createMistral({ fetch: client.fetch });
  console.log(sdk, provider);
  // @ts-expect-error: fetch takes a URL or a Request
  void client.fetch(42);
}
