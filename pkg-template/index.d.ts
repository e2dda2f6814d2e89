// Types of the mistral-ratelimit package. Request bodies and results are Mistral's
// wire format (snake_case); results keep any field Mistral adds, typed `unknown`.
//
// Every entry (Node, Deno, browsers, Workers) exports what is declared here. A
// Cloudflare Worker also needs the `MistralBudget` Durable Object for a shared
// budget: it imports that from "mistral-ratelimit/worker" (worker.d.ts), the same
// module as "mistral-ratelimit" under the `workerd` condition.

// ===== Options =====

export interface ClientOptions {
  /** Falls back to MISTRAL_API_KEY in Node and Deno. A 401 (an AuthenticationError)
   * means it is missing or refused. */
  apiKey?: string;
  /** Default `https://api.mistral.ai`. */
  serverURL?: string;
  /** Default 1; fractions allowed (0.2 is one request every 5 s). */
  requestsPerSecond?: number;
  /** How `requestsPerSecond` is read (Mistral's docs call it "the maximum number of
   * concurrent API requests"): `"rate"`, arrivals in any second; `"concurrency"`,
   * requests in flight (a stream until its end); `"both"`; or `"auto"`, a rate, plus a
   * cap on requests in flight once 429s line up with the number in flight rather
   * than with arrivals (a `limit` event with lane `requests/in-flight` says so).
   * Default `"auto"`. With a shared `budget`, the cap on requests in flight is shared
   * by every client of it that sets one (`"concurrency"`, `"both"`,
   * `maxConcurrentRequests`; give every client the same options), and
   * `"auto"` reads the limit as a rate: one client's 429s cannot tell how many
   * requests the others have in flight. */
  requestLimit?: "rate" | "concurrency" | "both" | "auto";
  /** The most requests in flight at once, whatever `requestLimit` says. Default: none
   * (or `requestsPerSecond`, for `"concurrency"` and `"both"`). */
  maxConcurrentRequests?: number;
  /** Input plus output tokens per minute. Default 500,000. */
  tokensPerMinute?: number;
  tokensPerMonth?: number;
  /** Default 3. */
  maxRetries?: number;
  /** Default 1000. */
  baseDelayMs?: number;
  /** Default 32000. */
  maxDelayMs?: number;
  /** Each HTTP attempt, from sending to the end of its body (a stream: to its
   * head). Time waiting for budget does not count. Default 60000. */
  timeoutMs?: number;
  /** The longest a stream may go without sending anything. Default 30000. */
  streamIdleTimeoutMs?: number;
  /** The longest a call may wait for budget (and a retry for the server). A call
   * predicted to wait longer fails at once with a QueueTimeoutError. Default: no bound. */
  queueTimeoutMs?: number;
  /** A key in a browser page is readable by anyone: point serverURL at a proxy instead. */
  dangerouslyAllowBrowser?: boolean;
  onEvent?: (event: ClientEvent) => void;
  /** Told of every alert (also an `alert` event). */
  onAlert?: (alert: Extract<ClientEvent, { type: "alert" }>) => void;
  /** The share (0 to 1) of the last five minutes' requests refused with a 429 that
   * raises a `rate-limited` alert, once at least 20 were sent. Default 0.05. */
  alertRateLimitedShare?: number;
  /** The p95 of recent queue waits, in ms, that raises a `queue-wait` alert. Default: none. */
  alertQueueWaitMs?: number;
  /** Per model, its own limits besides the workspace's (a model's tier may allow less). */
  modelLimits?: Record<string, { requestsPerSecond?: number; tokensPerMinute?: number }>;
  /**
   * Per model, the models to move a call to, in order, when its model cannot serve
   * it: a 429 saying the model's tier is saturated, a 5xx after the retries (reads
   * and completions only: a write may have been done), or a predicted wait past
   * `fallbackAfterMs`. Never for a 4xx, which another model would refuse too.
   * Each move is a `fallback` event; the reply's `model` says who served it.
   */
  fallback?: Record<string, string[]>;
  /** The predicted wait for a model's lanes, in ms, past which a call moves on. Default: none. */
  fallbackAfterMs?: number;
  /** USD per million tokens by model or model prefix, for `metrics()`'s cost.
   * Default: Mistral's list prices of July 2025 (see the README). */
  prices?: Record<string, { input: number; output: number }>;
  /** "tekken" counts prompts exactly once its vocabulary (a separate asset) has
   * loaded, on the first call; until then, and with "heuristic" (the default), a
   * heuristic that leans high estimates them. */
  tokenizer?: "heuristic" | "tekken";
  /**
   * Spend a share of a budget that other clients (isolates, Workers, processes)
   * share, instead of the whole limit: the limits above are the organization's.
   */
  budget?: BudgetOptions;
}

/** One budget shared by every client with the same `name`: in a Durable Object (Workers), on Redis, or among tabs. A client of a regional server (`api.eu.mistral.ai`) holds `name@host`: regions count apart. */
export type BudgetOptions = DurableObjectBudgetOptions | RedisBudgetOptions | TabsBudgetOptions;

/**
 * Cloudflare Workers: the budget lives in the package's `MistralBudget` Durable
 * Object, which the Worker exports: `export { MistralBudget } from "mistral-ratelimit/worker"`.
 */
export interface DurableObjectBudgetOptions {
  /** The Durable Object namespace binding whose class is `MistralBudget` (e.g.
   * `env.MISTRAL_BUDGET`, typed `DurableObjectNamespace<MistralBudget>` with
   * Cloudflare's types, or `DurableObjectNamespaceLike`). */
  durableObject: DurableObjectNamespaceLike;
  /** The budget's name: every client with the same name shares one (e.g. your organization). */
  name: string;
}

/**
 * Processes and machines (Node, Deno): the budget lives on Redis, in one hash under
 * the hash tag `{name}` (one shard of a cluster). The client passed is yours:
 * connected, and left open.
 */
export interface RedisBudgetOptions {
  /** A connected client from `ioredis` (5+) or `redis` (node-redis 4+), or a cluster of either. */
  redis: RedisClientLike;
  /** The budget's name: every client with the same name shares one (e.g. your organization). */
  name: string;
  /**
   * How long a lease lasts, in ms (1000 to 3600000, default 15000): also how long the
   * share of a process that died stays counted. The client that creates the budget sets it.
   */
  leaseMs?: number;
}

/**
 * A browser: the tabs (and workers) of one origin share a budget. The tab holding
 * its Web Lock runs the coordinator and the others ask it over a BroadcastChannel;
 * when that tab closes, the next takes over from the state it kept in localStorage.
 */
export interface TabsBudgetOptions {
  /** The budget's name: every client of this origin with the same name shares one. */
  tabs: string;
  /** How long a lease lasts, in ms (1000 to 3600000, default 15000). */
  leaseMs?: number;
}

/** What `budget.redis` needs: ioredis's `evalsha`/`eval` or node-redis's `evalSha`/`eval`
 * (whatever their parameters: the package calls each as its client takes it). */
export type RedisClientLike =
  | { evalsha(...args: never[]): Promise<unknown>; eval(...args: never[]): Promise<unknown> }
  | { evalSha(...args: never[]): Promise<unknown>; eval(...args: never[]): Promise<unknown> };

/** What `budget.durableObject` needs of a Workers namespace binding: Cloudflare's
 * `DurableObjectNamespace<MistralBudget>` is one. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  /** Takes what `idFromName` returned. */
  get(id: unknown): { lease(ask: LeaseMessage): Promise<unknown> };
}

/** A message of the shared budget's lease protocol (a client's ask, the
 * coordinator's grant): made and read by the package alone, between its versions. */
export interface LeaseMessage {
  readonly seq: number;
  readonly [field: string]: unknown;
}

export interface CallOptions {
  /** Aborts the call wherever it is: queued, in flight, or mid-stream. */
  signal?: AbortSignal;
  timeoutMs?: number;
  streamIdleTimeoutMs?: number;
  queueTimeoutMs?: number;
  /** Interactive calls go before batch ones. Default "interactive". */
  priority?: "interactive" | "batch";
  maxRetries?: number;
}

// ===== Shared wire types =====

type Open = { [field: string]: unknown };
type Nullable<T> = T | null;

export interface UsageInfo extends Open {
  /** The whole prompt, cached tokens included. */
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** `cached_tokens`: of the prompt, those served from the prompt cache (charged far less). */
  prompt_tokens_details?: Nullable<{ cached_tokens?: number }>;
  /** The tier that served the call. */
  service_tier?: Nullable<"priority" | "standard">;
}

export interface FunctionTool {
  type: "function";
  function: { name: string; description?: string; strict?: boolean; parameters: Record<string, unknown> };
}

export interface BuiltInTool {
  type: "web_search" | "web_search_premium" | "code_interpreter" | "image_generation";
  tool_configuration?: Nullable<Record<string, unknown>>;
}

export type Tool = FunctionTool | BuiltInTool | { type: "document_library"; library_ids: string[] };

export type ResponseFormat =
  | { type: "text" | "json_object" }
  | { type: "json_schema"; json_schema: { name: string; description?: string; schema: Record<string, unknown>; strict?: boolean } };

export type ToolChoice = "auto" | "none" | "any" | "required" | { type: "function"; function: { name: string } };

export interface ToolCall {
  id?: string;
  type?: "function";
  function: { name: string; arguments: string | Record<string, unknown> };
  index?: number;
}

/** Plain text. */
export interface TextChunk {
  type: "text";
  text: string;
}

/** An image, by URL or as a `data:` URL. */
export interface ImageURLChunk {
  type: "image_url";
  image_url: string | { url: string; detail?: Nullable<"low" | "auto" | "high"> };
}

/** A document (PDF...) by URL. */
export interface DocumentURLChunk {
  type: "document_url";
  document_url: string;
  document_name?: Nullable<string>;
}

/** References to sources the model cites (e.g. from a tool's results). */
export interface ReferenceChunk {
  type: "reference";
  reference_ids: Array<number | string>;
}

/** A file uploaded through the Files API. */
export interface FileChunk {
  type: "file";
  file_id: string;
}

/** A reasoning model's thinking. */
export interface ThinkChunk {
  type: "thinking";
  thinking: Array<TextChunk | ReferenceChunk | ToolReferenceChunk>;
  /** Lets reasoning blocks be replayed across turns. */
  signature?: Nullable<string>;
  closed?: boolean;
}

/** Audio, base64-encoded (or a URL). */
export interface AudioChunk {
  type: "input_audio";
  input_audio: string;
}

/** A file a built-in tool made (a conversation's output). */
export interface ToolFileChunk {
  type: "tool_file";
  /** e.g. "code_interpreter", "image_generation". */
  tool: string;
  file_id: string;
  file_name?: Nullable<string>;
  file_type?: Nullable<string>;
}

/** A source a built-in tool found (a conversation's output, e.g. web search). */
export interface ToolReferenceChunk {
  type: "tool_reference";
  tool: string;
  title: string;
  url?: Nullable<string>;
  favicon?: Nullable<string>;
  description?: Nullable<string>;
}

/**
 * The `type` of a chunk Mistral added after this version. No real type has this
 * form: it stands for "any other string" in a way TypeScript tells apart from the
 * known types (a plain `string` would undo their narrowing). To test for a type
 * newer than these declarations, compare `chunk.type as string`.
 */
export type UnknownChunkType = `${string}\u0000unknown`;

/**
 * A chunk of a type Mistral added after this version, with whatever fields it has:
 * `switch (chunk.type)` narrows each known chunk and leaves this one to `default`.
 * (A request that sends such a chunk casts it.)
 */
export interface UnknownChunk extends Open {
  type: UnknownChunkType;
}

/** A part of a message's content, told apart by `type`. */
export type ContentChunk =
  | TextChunk
  | ImageURLChunk
  | DocumentURLChunk
  | ReferenceChunk
  | FileChunk
  | ThinkChunk
  | AudioChunk
  | ToolFileChunk
  | ToolReferenceChunk
  | UnknownChunk;

// ===== Chat =====

export type ChatMessage =
  | { role: "system"; content: string | Array<TextChunk | ThinkChunk> }
  | { role: "user"; content: Nullable<string | ContentChunk[]> }
  | { role: "assistant"; content?: Nullable<string | ContentChunk[]>; tool_calls?: Nullable<ToolCall[]>; prefix?: boolean }
  | { role: "tool"; content: Nullable<string | ContentChunk[]>; tool_call_id?: Nullable<string>; name?: Nullable<string> };

export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: Nullable<number>;
  top_p?: number;
  max_tokens?: Nullable<number>;
  stop?: string | string[];
  random_seed?: Nullable<number>;
  metadata?: Nullable<Record<string, unknown>>;
  response_format?: ResponseFormat;
  tools?: Nullable<Tool[]>;
  tool_choice?: ToolChoice;
  presence_penalty?: number;
  frequency_penalty?: number;
  n?: Nullable<number>;
  prediction?: { type: "content"; content: string };
  parallel_tool_calls?: boolean;
  prompt_mode?: Nullable<"reasoning">;
  reasoning_effort?: Nullable<"high" | "none">;
  guardrails?: Nullable<unknown[]>;
  /** Prompts sent under one key may be cached: the cached part is charged far less,
   * and this client reserves, per model and key, what the server last charged. */
  prompt_cache_key?: Nullable<string>;
  /** `auto`: the priority tier while the model's priority limits allow, else standard.
   * Default `standard_only`. */
  service_tier?: Nullable<"auto" | "standard_only">;
  safe_prompt?: boolean;
}

export type FinishReason = "stop" | "length" | "model_length" | "error" | "tool_calls";

export interface ChatCompletionResponse extends Open {
  id: string;
  object: "chat.completion";
  model: string;
  created: number;
  usage: UsageInfo;
  choices: Array<{
    index: number;
    finish_reason: FinishReason;
    message: { role: "assistant"; content: Nullable<string | ContentChunk[]>; tool_calls?: Nullable<ToolCall[]> } & Open;
  }>;
}

export interface CompletionChunk extends Open {
  id: string;
  object: "chat.completion.chunk";
  model: string;
  created?: number;
  usage?: UsageInfo;
  choices: Array<{
    index: number;
    delta: { role?: "assistant"; content?: Nullable<string | ContentChunk[]>; tool_calls?: Nullable<ToolCall[]> } & Open;
    finish_reason: Nullable<FinishReason>;
  }>;
}

// ===== Conversations =====

export interface CompletionArgs {
  stop?: Nullable<string | string[]>;
  presence_penalty?: Nullable<number>;
  frequency_penalty?: Nullable<number>;
  temperature?: Nullable<number>;
  top_p?: Nullable<number>;
  max_tokens?: Nullable<number>;
  random_seed?: Nullable<number>;
  prediction?: Nullable<{ type: "content"; content: string }>;
  response_format?: Nullable<ResponseFormat>;
  tool_choice?: "auto" | "none" | "any" | "required";
  reasoning_effort?: Nullable<"high" | "none">;
}

interface EntryBase extends Open {
  object?: "entry";
  id?: string;
  created_at?: string;
  completed_at?: Nullable<string>;
}

export type InputEntry =
  | (EntryBase & { type: "message.input"; role: "user" | "assistant"; content: string | ContentChunk[]; prefix?: boolean })
  | (EntryBase & { type: "message.output"; role?: "assistant"; content: string | ContentChunk[] })
  | (EntryBase & { type: "function.result"; tool_call_id: string; result: string })
  | (EntryBase & { type: "function.call"; tool_call_id: string; name: string; arguments: string | Record<string, unknown> })
  | (EntryBase & { type: "tool.execution"; name: string; arguments: string })
  | (EntryBase & { type: "agent.handoff"; previous_agent_id: string; previous_agent_name: string; next_agent_id: string; next_agent_name: string });

export type OutputEntry = Extract<InputEntry, { type: "message.output" | "function.call" | "tool.execution" | "agent.handoff" }>;

export interface ConversationRequest {
  inputs: string | InputEntry[];
  model?: Nullable<string>;
  agent_id?: Nullable<string>;
  agent_version?: Nullable<string | number>;
  instructions?: Nullable<string>;
  tools?: Nullable<Tool[]>;
  completion_args?: Nullable<CompletionArgs>;
  store?: Nullable<boolean>;
  handoff_execution?: Nullable<"client" | "server">;
  name?: Nullable<string>;
  description?: Nullable<string>;
  metadata?: Nullable<Record<string, unknown>>;
  guardrails?: Nullable<unknown[]>;
}

export interface ConversationAppendRequest {
  inputs?: string | InputEntry[];
  completion_args?: Nullable<CompletionArgs>;
  store?: boolean;
  handoff_execution?: "client" | "server";
  tool_confirmations?: Nullable<Array<{ tool_call_id: string; confirmation: "allow" | "deny" }>>;
}

export interface ConversationRestartRequest {
  from_entry_id: string;
  inputs?: string | InputEntry[];
  completion_args?: Nullable<CompletionArgs>;
  store?: boolean;
  handoff_execution?: "client" | "server";
  agent_version?: Nullable<string | number>;
  metadata?: Nullable<Record<string, unknown>>;
  guardrails?: Nullable<unknown[]>;
}

export interface ConversationUsage extends UsageInfo {
  connector_tokens?: Nullable<number>;
  connectors?: Nullable<Record<string, number>>;
}

export interface ConversationResponse extends Open {
  object: "conversation.response";
  conversation_id: string;
  outputs: OutputEntry[];
  usage: ConversationUsage;
}

export interface Conversation extends Open {
  object: "conversation";
  id: string;
  created_at: string;
  updated_at: string;
  name?: Nullable<string>;
  description?: Nullable<string>;
  metadata?: Nullable<Record<string, unknown>>;
  model?: string;
  agent_id?: string;
}

export interface ConversationHistory extends Open {
  object: "conversation.history";
  conversation_id: string;
  entries: InputEntry[];
}

export interface ConversationMessages extends Open {
  object: "conversation.messages";
  conversation_id: string;
  messages: Array<Extract<InputEntry, { type: "message.input" | "message.output" }>>;
}

interface EventBase extends Open {
  created_at?: string;
}

export type ConversationEvent =
  | (EventBase & { type: "conversation.response.started"; conversation_id: string })
  | (EventBase & { type: "message.output.delta"; id: string; output_index?: number; content_index?: number; content: string | ContentChunk; role?: "assistant"; model?: string; agent_id?: string })
  | (EventBase & { type: "function.call.delta"; id: string; output_index?: number; name: string; tool_call_id: string; arguments: string })
  | (EventBase & { type: "tool.execution.started" | "tool.execution.delta"; id: string; output_index?: number; name: string; arguments: string })
  | (EventBase & { type: "tool.execution.done"; id: string; output_index?: number; name: string; info?: Record<string, unknown> })
  | (EventBase & { type: "agent.handoff.started"; id: string; previous_agent_id: string; previous_agent_name: string })
  | (EventBase & { type: "agent.handoff.done"; id: string; next_agent_id: string; next_agent_name: string })
  | (EventBase & { type: "conversation.response.done"; usage: ConversationUsage })
  | (EventBase & { type: "conversation.response.error"; message: string; code: number });

export interface ConversationListParams {
  page?: number;
  page_size?: number;
  metadata?: Record<string, unknown>;
}


// ===== FIM, agents' completions, embeddings, classifiers =====

export interface FIMCompletionRequest {
  /** A code model, e.g. "codestral-latest". */
  model: string;
  prompt: string;
  suffix?: Nullable<string>;
  temperature?: Nullable<number>;
  top_p?: number;
  max_tokens?: Nullable<number>;
  min_tokens?: Nullable<number>;
  stop?: string | string[];
  random_seed?: Nullable<number>;
  metadata?: Nullable<Record<string, unknown>>;
  prompt_cache_key?: Nullable<string>;
}

/** A chat request naming an agent, whose model and settings apply. */
export interface AgentsCompletionRequest
  extends Omit<ChatCompletionRequest, "model" | "temperature" | "top_p" | "reasoning_effort" | "guardrails" | "prompt_cache_key" | "safe_prompt"> {
  agent_id: string;
}

export interface EmbeddingRequest {
  model: string;
  input: string | string[];
  output_dimension?: Nullable<number>;
  output_dtype?: "float" | "int8" | "uint8" | "binary" | "ubinary";
  encoding_format?: "float" | "base64";
  metadata?: Nullable<Record<string, unknown>>;
}

export interface EmbeddingManyRequest extends Omit<EmbeddingRequest, "input"> {
  /** Any number of texts (`create` takes a request's worth). */
  input: string[];
}

export interface EmbeddingManyOptions {
  onProgress?: (progress: { done: number; total: number; tokens: number }) => void;
  signal?: AbortSignal;
  /** Default "batch": interactive calls go first. */
  priority?: "interactive" | "batch";
  /** Default 512. */
  maxInputsPerRequest?: number;
  /** Estimated tokens per request. Default 16000, and never more than a quarter of the tokens per minute. */
  maxTokensPerRequest?: number;
}

export interface EmbeddingResponse extends Open {
  id: string;
  object: string;
  model: string;
  usage: UsageInfo;
  data: Array<{ object: "embedding"; embedding: number[] | string; index: number } & Open>;
}

export interface ClassificationRequest {
  model: string;
  input: string | string[];
  metadata?: Nullable<Record<string, unknown>>;
}

export interface ChatModerationRequest {
  model: string;
  input: ChatMessage[] | ChatMessage[][];
}

export interface ChatClassificationRequest {
  model: string;
  input: { messages: ChatMessage[] } | Array<{ messages: ChatMessage[] }>;
}

export interface ModerationResponse extends Open {
  id: string;
  model: string;
  results: Array<{ categories: Record<string, boolean>; category_scores: Record<string, number> } & Open>;
}

export interface ClassificationResponse extends Open {
  id: string;
  model: string;
  results: Array<Record<string, { scores: Record<string, number> }>>;
}

// ===== Models =====

export interface ModelCard extends Open {
  id: string;
  object: "model";
  created?: number;
  owned_by?: string;
  capabilities: Record<string, boolean>;
  name?: Nullable<string>;
  description?: Nullable<string>;
  max_context_length?: number;
  aliases?: string[];
  type?: "base" | "fine-tuned";
}

export interface ModelList extends Open {
  object: "list";
  data: ModelCard[];
}

export interface ModelListParams {
  provider?: string;
  model?: string;
}

export interface DeletedModel extends Open {
  id: string;
  object: "model";
  deleted: boolean;
}

// ===== Agents =====

export interface AgentCreationRequest {
  model: string;
  name: string;
  instructions?: Nullable<string>;
  tools?: Tool[];
  completion_args?: CompletionArgs;
  guardrails?: Nullable<unknown[]>;
  description?: Nullable<string>;
  /** Agent ids this agent may hand off to. */
  handoffs?: Nullable<string[]>;
  metadata?: Nullable<Record<string, unknown>>;
  version_message?: Nullable<string>;
}

export interface AgentUpdateRequest extends Partial<AgentCreationRequest> {
  deployment_chat?: Nullable<boolean>;
}

export interface Agent extends Open {
  object?: "agent";
  id: string;
  model: string;
  name: string;
  version: number;
  versions: number[];
  created_at: string;
  updated_at: string;
  deployment_chat: boolean;
  source: string;
  instructions?: Nullable<string>;
  tools?: Tool[];
  completion_args?: CompletionArgs;
  description?: Nullable<string>;
  handoffs?: Nullable<string[]>;
  metadata?: Nullable<Record<string, unknown>>;
  version_message?: Nullable<string>;
}

export interface AgentListParams {
  page?: number;
  page_size?: number;
  deployment_chat?: boolean;
  sources?: Array<"api" | "playground" | "agent_builder_v1">;
  name?: string;
  search?: string;
  id?: string;
  metadata?: Record<string, unknown>;
}

export interface AgentVersionAlias extends Open {
  alias: string;
  version: number;
  created_at: string;
  updated_at: string;
}

// ===== Client =====

/** A streamed reply: iterate it once; `break` cancels it and settles what was used. */
export type EventStream<T> = AsyncIterable<T>;

type StreamBody<T> = Omit<T, "stream">;

export declare class MistralRatelimitClient {
  constructor(options?: ClientOptions);
  readonly chat: {
    complete(request: StreamBody<ChatCompletionRequest>, options?: CallOptions): Promise<ChatCompletionResponse>;
    stream(request: StreamBody<ChatCompletionRequest>, options?: CallOptions): EventStream<CompletionChunk>;
  };
  readonly fim: {
    complete(request: StreamBody<FIMCompletionRequest>, options?: CallOptions): Promise<ChatCompletionResponse>;
    stream(request: StreamBody<FIMCompletionRequest>, options?: CallOptions): EventStream<CompletionChunk>;
  };
  /** The legacy agents' completions (`/v1/agents/completions`); agents themselves are `beta.agents`. */
  readonly agents: {
    complete(request: StreamBody<AgentsCompletionRequest>, options?: CallOptions): Promise<ChatCompletionResponse>;
    stream(request: StreamBody<AgentsCompletionRequest>, options?: CallOptions): EventStream<CompletionChunk>;
  };
  readonly embeddings: {
    create(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>;
    /**
     * Any number of inputs, in requests that fit a request's caps and the token
     * lane, sent at once through the limiter; a batch that fails for a transient
     * reason is sent again (twice at most), one that fails for good stops the rest.
     * The result holds every input's embedding in input order and the summed usage.
     */
    createMany(request: EmbeddingManyRequest, options?: EmbeddingManyOptions): Promise<EmbeddingResponse>;
  };
  readonly classifiers: {
    moderate(request: ClassificationRequest, options?: CallOptions): Promise<ModerationResponse>;
    moderateChat(request: ChatModerationRequest, options?: CallOptions): Promise<ModerationResponse>;
    classify(request: ClassificationRequest, options?: CallOptions): Promise<ClassificationResponse>;
    classifyChat(request: ChatClassificationRequest, options?: CallOptions): Promise<ClassificationResponse>;
  };
  readonly models: {
    list(params?: ModelListParams, options?: CallOptions): Promise<ModelList>;
    retrieve(modelId: string, options?: CallOptions): Promise<ModelCard>;
    delete(modelId: string, options?: CallOptions): Promise<DeletedModel>;
  };
  readonly beta: {
    readonly agents: {
      create(request: AgentCreationRequest, options?: CallOptions): Promise<Agent>;
      list(params?: AgentListParams, options?: CallOptions): Promise<Agent[]>;
      get(agentId: string, params?: { agent_version?: number | string }, options?: CallOptions): Promise<Agent>;
      /** Creates a new version and makes it current. */
      update(agentId: string, request: AgentUpdateRequest, options?: CallOptions): Promise<Agent>;
      delete(agentId: string, options?: CallOptions): Promise<void>;
      /** Makes `version` the current one. */
      updateVersion(agentId: string, version: number, options?: CallOptions): Promise<Agent>;
      listVersions(agentId: string, params?: { page?: number; page_size?: number }, options?: CallOptions): Promise<Agent[]>;
      getVersion(agentId: string, version: number | string, options?: CallOptions): Promise<Agent>;
      createVersionAlias(agentId: string, alias: string, version: number, options?: CallOptions): Promise<AgentVersionAlias>;
      listVersionAliases(agentId: string, options?: CallOptions): Promise<AgentVersionAlias[]>;
      deleteVersionAlias(agentId: string, alias: string, options?: CallOptions): Promise<void>;
    };
    readonly conversations: {
      start(request: ConversationRequest, options?: CallOptions): Promise<ConversationResponse>;
      startStream(request: ConversationRequest, options?: CallOptions): EventStream<ConversationEvent>;
      append(conversationId: string, request: ConversationAppendRequest, options?: CallOptions): Promise<ConversationResponse>;
      appendStream(conversationId: string, request: ConversationAppendRequest, options?: CallOptions): EventStream<ConversationEvent>;
      restart(conversationId: string, request: ConversationRestartRequest, options?: CallOptions): Promise<ConversationResponse>;
      restartStream(conversationId: string, request: ConversationRestartRequest, options?: CallOptions): EventStream<ConversationEvent>;
      get(conversationId: string, options?: CallOptions): Promise<Conversation>;
      getHistory(conversationId: string, options?: CallOptions): Promise<ConversationHistory>;
      getMessages(conversationId: string, options?: CallOptions): Promise<ConversationMessages>;
      list(params?: ConversationListParams, options?: CallOptions): Promise<Conversation[]>;
      delete(conversationId: string, options?: CallOptions): Promise<void>;
    };
  };
  /**
   * A `fetch` for other clients of Mistral's API (the official SDK's
   * `HTTPClient({ fetcher })`, the AI SDK's `createMistral({ fetch })`): each request
   * goes through this client's budget as the call of its route would, a 429 is
   * retried through the limiter, streams pass through as they come, and the
   * server's last answer, a refusal included, is the response. Turn the other
   * client's own retries off. Rejects only when no answer came.
   */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Lanes, queue, the server's last report and counters, as of now. */
  status(): ClientStatus;
  /** What the calls came to, per model (the model each call asked for; "" for
   * calls that name none) and overall. */
  metrics(options?: { format?: "json" }): ClientMetrics;
  /** The same in the Prometheus text exposition format. */
  metrics(options: { format: "prometheus" }): string;
  /** Subscribes to client events; returns the function that unsubscribes. */
  on(listener: (event: ClientEvent) => void): () => void;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface CallMetrics {
  calls: number;
  /** Calls that failed, by error class name. */
  errors: Partial<Record<ErrorName, number>>;
  /** HTTP requests sent, each attempt. */
  requests: number;
  rateLimited: number;
  /** rateLimited / requests. */
  rateLimitedShare: number;
  retries: number;
  /** Calls that moved on from this model to a fallback. */
  fallbacks: number;
  /** Prompt tokens, cached ones included (as `usage.prompt_tokens` counts them). */
  tokensIn: number;
  /** Of `tokensIn`, those served from the prompt cache (`prompt_tokens_details.cached_tokens`). */
  tokensCached: number;
  tokensOut: number;
  /** Calls by the service tier their replies said served them (`usage.service_tier`). */
  tiers: { priority: number; standard: number };
  /** From the price table (cached prompt tokens at a tenth); null for a model it does not price. */
  costUsd: number | null;
  latencyMs: Percentiles;
  ttftMs: Percentiles;
  queueWaitMs: Percentiles;
}

export interface ClientMetrics {
  overall: CallMetrics & { costUsd: number };
  models: Record<string, CallMetrics>;
}

export declare function version(): string;

/** Tokens in `text`, exactly as Mistral's Tekken models count raw text. Loads the vocabulary on first use. */
export declare function countTokens(text: string): Promise<number>;

/**
 * Prompt tokens of a chat or conversation request, as the server will count them:
 * exact when the request's model uses a known Tekken chat template (v3, v7, v11,
 * v13, v15; e.g. open-mistral-nemo, mistral-small-2503, mistral-small-2506,
 * ministral-3b-2512, mistral-small-latest) and holds only text and function tools;
 * otherwise its text is counted exactly and its template framing estimated. For a
 * model on an older SentencePiece vocabulary (mistral-large-2411, codestral-2405,
 * ...) it is an upper bound: that count times a measured 1.45 for Latin-script
 * text, 2.40 for any other. For an append, only the new entries count: the history
 * lives on the server.
 */
export declare function countChatTokens(
  request: ChatCompletionRequest | ConversationRequest,
): Promise<number>;

export interface LaneStatus {
  name: string;
  model: string | null;
  unit: "requests" | "tokens";
  windowMs: number;
  limit: number;
  /** What was configured; null for a window the server named. */
  configured: number | null;
  /** Where `limit` comes from: the configuration, a reply's `x-ratelimit-limit-*`
   * header, or 429s that showed the configured limit too high (probing back up). */
  source: "configured" | "header" | "429";
  /** This client's share of a shared budget; null without one. */
  share: number | null;
  used: number;
  percent: number;
  available: number;
  /** 0 when some is free now; Infinity when nothing ever fits. */
  nextAvailableMs: number;
}

export interface ClientStatus {
  lanes: LaneStatus[];
  /** Requests admitted and not yet done (a stream until its end). */
  inFlight: number;
  /** The cap on `inFlight`, if there is one: configured, or learned from 429s. */
  inFlightLimit: {
    limit: number;
    configured: number | null;
    source: "configured" | "429";
    /** This client's share of `limit`, when a budget shares it; null otherwise. */
    share: number | null;
  } | null;
  queued: number;
  closedForMs: number;
  marginMs: number;
  server: {
    /** The last `x-ratelimit-*` report. */
    limits: Array<{ unit: "requests" | "tokens"; windowMs: number; limit: number | null; remaining: number | null }>;
    /** Rate-limit headers ignored as absurd (a negative or huge value, a window under a
     * second or over a month, more new windows than the client learns), since it was made. */
    ignored: number;
  };
  /** The shared budget, when the client has one. */
  budget: BudgetStatus | null;
  counters: {
    requests: number;
    retries: number;
    rateLimited: number;
    tokensIn: number;
    tokensOut: number;
    refunded: number;
    debt: number;
    ttftP50Ms: number | null;
    ttftP95Ms: number | null;
  };
}

export interface BudgetStatus {
  name: string;
  /** "joining" (no lease yet), "shared", "holding" (the coordinator cannot be
   * reached: spending the lease), "fallback" (the lease expired too: spending the
   * last share alone, without the guarantee). */
  state: "joining" | "shared" | "holding" | "fallback";
  holders: number;
  asks: number;
  failures: number;
  /** Per shared lane; `windowMs` 0 is the cap on requests in flight, whose share is a
   * number of requests this client may have in flight at once. */
  shares: Array<{ unit: "requests" | "tokens"; windowMs: number; limit: number; share: number }>;
}

export type ClientEvent =
  | { type: "queued"; estimate: number; attempt: number }
  | { type: "sent"; attempt: number }
  | { type: "retry"; afterMs: number; status?: number }
  | { type: "rate-limited"; kind: RateLimitKind }
  | { type: "settled"; tokens: number; refunded: number; debt: number }
  | { type: "error"; name: ErrorName }
  /** The server counted a model's prompts higher than estimated: its estimates are multiplied by `ratio` from now on. */
  | { type: "calibrated"; model: string; ratio: number }
  /** A call moved on to the next model of its `fallback` chain: `capacity` (its tier
   * is saturated: code 3505, as a 429 or a 503), `unavailable` (5xx after retries, the
   * model refused as invalid or not in use, or not on the plan), `wait` (its lane's
   * predicted wait exceeds `fallbackAfterMs`). */
  | { type: "fallback"; from: string; to: string; reason: "capacity" | "unavailable" | "wait" }
  /** A threshold was crossed: 429s over `alertRateLimitedShare` of five minutes'
   * requests, the queue wait's p95 over `alertQueueWaitMs`, the month's tokens past
   * 80% and 95%. Raised once, and again only after it went back under. */
  | { type: "alert"; kind: "rate-limited" | "queue-wait" | "month-budget"; value: number; threshold: number }
  /** A lane's limit changed with no header stating it. `"429"`: a 429 came while the
   * lane held less than its limit, so the limit is lower; it drops to what the
   * server accepted. `"probe"`: quiet and full for a while, it rises a step back
   * towards `configured`. `"probe-failed"`: a 429 at the raised level; it drops back.
   * Lane `requests/in-flight`: 429s lined up with the number of requests in flight,
   * which is now capped at `limit` (`requestLimit: "auto"`). */
  | { type: "limit"; lane: string; model?: string; limit: number; configured: number; cause: "429" | "probe" | "probe-failed" }
  /** The client's standing in a shared budget changed. */
  | { type: "budget"; state: "shared" | "holding" | "fallback"; holders: number }
  /** A spending limit is reached (a 402): every call fails with a SpendingLimitError until `resetAt`. */
  | { type: "spending-limit"; message: string; resetAt?: string };

// ===== Errors =====

/** Why a 429: too fast; the model's tier saturated (also sent as a 503); the month's
 * allowance spent; a limit of 0 requests for the model (not on the plan). */
export type RateLimitKind = "rate_limited" | "capacity_exceeded" | "quota_exhausted" | "not_on_plan";

export type ErrorName =
  | "BadRequestError" | "AuthenticationError" | "PermissionDeniedError" | "NotFoundError" | "ValidationError"
  | "SpendingLimitError" | "RateLimitError" | "ModelNotOnPlanError" | "ServerError" | "ProtocolError"
  | "ConnectionError" | "TimeoutError" | "AbortError" | "QueueTimeoutError" | "ConfigError" | "InternalError";

/** An error's stable `code`, one per class (in ErrorName's order). */
export type ErrorCode =
  | "bad_request" | "authentication" | "permission_denied" | "not_found" | "validation"
  | "spending_limit" | "rate_limited" | "model_not_on_plan" | "server_error" | "protocol"
  | "connection" | "timeout" | "aborted" | "queue_timeout" | "config" | "internal";

export declare class MistralRatelimitError extends Error {
  name: ErrorName;
  /** Stable across versions, unlike the message. */
  code: ErrorCode;
  status?: number;
  /** Mistral's `type`, e.g. "invalid_model". */
  type?: string;
  /** Mistral's `code`, e.g. "1300". */
  mistralCode?: string;
  correlationId?: string;
}
export declare class BadRequestError extends MistralRatelimitError {}
/** A 401: no API key was sent, or the server refused it. The message says which,
 * and names the `apiKey` option (and MISTRAL_API_KEY); it never holds the key. */
export declare class AuthenticationError extends MistralRatelimitError {}
export declare class PermissionDeniedError extends MistralRatelimitError {}
export declare class NotFoundError extends MistralRatelimitError {}
export declare class ValidationError extends MistralRatelimitError {
  /** FastAPI's detail list. */
  detail?: Array<{ loc: Array<string | number>; msg: string; type: string; input?: unknown }>;
}
/**
 * A 402: a spending limit (of the organization, workspace, user group, user or key)
 * is reached. Not retried; every call waiting for the limiter ends with it at once,
 * and later calls fail with it, unsent, until `resetAt` (or for five minutes when the
 * message states no reset).
 */
export declare class SpendingLimitError extends MistralRatelimitError {
  /** When the limit resets, as the server's message states it (RFC 3339). */
  resetAt?: string;
}
export declare class RateLimitError extends MistralRatelimitError {
  retryAfterMs?: number;
  rateLimitKind?: RateLimitKind;
}
/**
 * The server states a limit of 0 requests for the model: it is not on the
 * workspace's plan (or the key has no allowance). Not retried; the model's later
 * calls fail at once, unsent (a `fallback` chain moves them on), for ten minutes.
 */
export declare class ModelNotOnPlanError extends MistralRatelimitError {
  model: string;
}
/** A 5xx (or a status the API does not document), after the retries the call allows. */
export declare class ServerError extends MistralRatelimitError {}
/**
 * The server's answer breaks the protocol: a reply that is not JSON (or not an
 * object), a malformed event stream or event, JSON or nothing where a stream or a
 * reply was due. A fault of the server or of a proxy before it, not of the options
 * (those are a ConfigError); not retried, since the server may have done the work.
 */
export declare class ProtocolError extends MistralRatelimitError {}
export declare class ConnectionError extends MistralRatelimitError {}
export declare class TimeoutError extends MistralRatelimitError {}
export declare class AbortError extends MistralRatelimitError {}
export declare class QueueTimeoutError extends MistralRatelimitError {
  /** When the wait was predicted up front: how long it would have been. */
  predictedWaitMs?: number;
}
/** The options or the arguments cannot work as given: the message says what to change. */
export declare class ConfigError extends MistralRatelimitError {}
/**
 * The package's wasm module failed (a bug: please report the message). The calls
 * it was serving end with this error; the module restarts and later calls work.
 */
export declare class InternalError extends MistralRatelimitError {}
