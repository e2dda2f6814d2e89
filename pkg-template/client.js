// The public API, built on the wasm `Client`: resource groups that mirror
// Mistral's SDK, streams as async iterators, typed errors, status and events.
// Loaded through one of the entry files (node.js, worker.js, index.js), which
// instantiate the wasm module first.
import { loadTekken } from "./assets.js";
import * as runtime from "./runtime.js";
import { createMany } from "./embeddings-many.js";
import { DEFAULT_PRICES, checkPrices, prometheus, withCost } from "./metrics.js";
import { observeOnMeter } from "./otel.js";
import { isRedisClient, redisLease } from "./redis-budget.js";
import { tabsAvailable, tabsLease } from "./tabs-budget.js";

/** Every error the client throws. `code` is stable; `name` is the class name. */
export class MistralRatelimitError extends Error {
  constructor(message, fields = {}) {
    super(message);
    Object.assign(this, fields);
  }
}
export class BadRequestError extends MistralRatelimitError {}
export class AuthenticationError extends MistralRatelimitError {}
export class PermissionDeniedError extends MistralRatelimitError {}
export class NotFoundError extends MistralRatelimitError {}
export class ValidationError extends MistralRatelimitError {}
export class SpendingLimitError extends MistralRatelimitError {}
export class RateLimitError extends MistralRatelimitError {}
export class ModelNotOnPlanError extends MistralRatelimitError {}
export class ServerError extends MistralRatelimitError {}
/** The server's answer breaks the protocol (not JSON, a malformed stream, JSON for a stream). */
export class ProtocolError extends MistralRatelimitError {}
export class ConnectionError extends MistralRatelimitError {}
export class TimeoutError extends MistralRatelimitError {}
export class AbortError extends MistralRatelimitError {}
export class QueueTimeoutError extends MistralRatelimitError {}
export class ConfigError extends MistralRatelimitError {}
export class InternalError extends MistralRatelimitError {}

const classes = {
  BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, ValidationError, SpendingLimitError,
  RateLimitError, ModelNotOnPlanError, ServerError, ProtocolError, ConnectionError, TimeoutError, AbortError, QueueTimeoutError, ConfigError, InternalError,
};

// Called from wasm to build errors, so that the classes live only here.
function makeError(name, message, fields) {
  const Class = classes[name] ?? MistralRatelimitError;
  const error = new Class(message, fields);
  Object.defineProperty(error, "name", { value: name, enumerable: false, configurable: true, writable: true });
  return error;
}

function configError(message) {
  return makeError("ConfigError", message, { code: "config" });
}

// A call the wasm module was serving when it trapped (a bug in this package).
function internalError(message) {
  return makeError(
    "InternalError",
    `mistral-ratelimit failed and restarted its wasm module; this call was ended. Please report: ${message}`,
    { code: "internal" },
  );
}

/** The package's version (the crate's). */
export function version() {
  return runtime.guard(() => runtime.live().version(), internalError);
}

// The Tekken counter, loaded once, on first use (its module and vocabulary are
// separate assets, and its BPE is built on the first count, never at load).
let tekken;
function tekkenCounter() {
  tekken ??= loadTekken();
  return tekken;
}

/** Tokens in `text`, exactly as Mistral's Tekken models count raw text. */
export async function countTokens(text) {
  if (typeof text !== "string") throw configError("countTokens takes a string");
  return (await tekkenCounter()).count(text);
}

/**
 * Prompt tokens of a chat or conversation request: exact when its model uses a
 * known Tekken chat template, else its text counted exactly and its framing
 * estimated.
 */
export async function countChatTokens(request) {
  if (request === null || typeof request !== "object") throw configError("countChatTokens takes a request object");
  return (await tekkenCounter()).countRequest(request);
}

// Node and Deno keep the key in the environment; reading it never throws.
function keyFromEnvironment() {
  try {
    return globalThis.process?.env?.MISTRAL_API_KEY ?? globalThis.Deno?.env?.get("MISTRAL_API_KEY");
  } catch {
    return undefined;
  }
}

// A browser, page or worker (web, shared or service): a key there is visible to
// anyone who opens the page. Browsers, and only browsers, say "Mozilla/"; Node,
// Deno, Bun and Workers name themselves.
const inBrowser = /^Mozilla\//.test(globalThis.navigator?.userAgent ?? "") && !globalThis.process?.versions?.node;

/** A streamed reply: iterate it once with `for await`; `break` cancels it. */
class EventStreamIterable {
  #opened;
  #born;
  #used = false;

  constructor(opened, born) {
    this.#opened = opened;
    this.#born = born;
    // The error surfaces on the first `next()`; never as an unhandled rejection.
    opened.catch(() => {});
  }

  [Symbol.asyncIterator]() {
    if (this.#used) throw configError("a stream can be iterated only once; start a new call to read it again");
    this.#used = true;
    const opened = this.#opened;
    return {
      next: async () => {
        const stream = await opened;
        return runtime.track(() => stream.next(), internalError, this.#born);
      },
      return: async () => {
        const stream = await opened.catch(() => undefined);
        await stream?.cancel();
        return { done: true, value: undefined };
      },
    };
  }
}

// Mistral's regional servers (api.eu.mistral.ai, api.us.mistral.ai) count limits
// apart from the global one and from each other: a budget's name is kept apart
// for each, so that clients of two regions never split one region's limit by
// accident. Any other server (a proxy, the mock) shares by the name alone: a proxy
// may stand in front of the same counters as a direct client.
const REGIONAL_SERVER = /^api\.[a-z]+\.mistral\.ai$/;

function budgetName(name, serverURL) {
  const host = URL.canParse(serverURL ?? "") ? new URL(serverURL).hostname : "";
  return REGIONAL_SERVER.test(host) ? `${name}@${host}` : name;
}

// A shared budget's transport: `lease(ask)` resolves with the coordinator's grant.
// A Durable Object namespace is reached through a stub made per ask: in Workers a
// stub belongs to the request that made it, and a client serves many requests.
function sharedBudget(budget, serverURL) {
  const shapes = "{ durableObject, name } (Workers), { redis, name, leaseMs? } (ioredis or node-redis) or { tabs: name, leaseMs? } (a browser's tabs)";
  if (budget === null || typeof budget !== "object") throw configError(`budget must be an object: ${shapes}`);
  const { durableObject, redis, tabs, name: given = tabs, leaseMs, ...extra } = budget;
  const unknown = Object.keys(extra);
  if (unknown.length) throw configError(`unknown budget option '${unknown[0]}'; the budget is ${shapes}`);
  if ([durableObject, redis, tabs].filter((store) => store !== undefined).length !== 1) {
    throw configError(`budget needs one of durableObject, redis and tabs: ${shapes}`);
  }
  if (typeof given !== "string" || given === "" || given.length > 256) {
    throw configError("the budget's name must be a non-empty string (at most 256 characters), e.g. your organization");
  }
  const name = budgetName(given, serverURL);
  if (tabs !== undefined && budget.name !== undefined && budget.name !== tabs) throw configError("budget.tabs is the budget's name; leave out budget.name");
  if (durableObject !== undefined) {
    if (leaseMs !== undefined) throw configError("budget.leaseMs is for Redis and tabs; a Durable Object takes MISTRAL_BUDGET_LEASE_MS from its vars");
    if (typeof durableObject?.idFromName !== "function" || typeof durableObject?.get !== "function") {
      throw configError("budget.durableObject must be a Durable Object namespace binding (env.MISTRAL_BUDGET) whose class is MistralBudget");
    }
    return { name, lease: (ask) => durableObject.get(durableObject.idFromName(name)).lease(ask) };
  }
  const wrongLease = leaseMs === undefined ? undefined : runtime.live().leaseMsProblem(typeof leaseMs === "number" ? leaseMs : Number.NaN);
  if (wrongLease) throw configError(`budget.${wrongLease}`);
  if (redis !== undefined) {
    if (!isRedisClient(redis)) throw configError("budget.redis must be a connected ioredis or node-redis (4+) client");
    return { name, lease: redisLease(redis, name, leaseMs) };
  }
  if (!tabsAvailable()) throw configError("budget.tabs needs BroadcastChannel and Web Locks: a browser page or worker");
  return { name, lease: tabsLease(name, leaseMs) };
}

// Names this client among the budget's holders.
function holderId() {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// What reads, lists and deletes pass for a body.
const bodiless = Symbol("bodiless");

// A request body is an object: spreading a string or an array would send
// {"0": ...} without a word.
function request(body) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw configError(`a request body must be an object, got ${body === null ? "null" : Array.isArray(body) ? "an array" : typeof body}`);
  }
  return body;
}

// The ids of a path: strings as Mistral issued them, or a version's number.
function pathIds(ids) {
  return ids.map((id) => {
    if (typeof id === "string") return id;
    if (Number.isSafeInteger(id) && id >= 0) return String(id);
    throw configError(`an id must be a string (a version may be a whole number), got ${id === null ? "null" : typeof id}`);
  });
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === null) continue;
    q.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  return q.toString();
}

export class MistralRatelimitClient {
  #wasm;
  #generation;
  #build;
  #listeners = new Set();
  #prices;

  constructor(options = {}) {
    if (options === null || typeof options !== "object") throw configError("options must be an object");
    const { onEvent, onAlert, prices = DEFAULT_PRICES, tokenizer = "heuristic", budget, ...rest } = options;
    const shared = budget === undefined ? undefined : sharedBudget(budget, rest.serverURL);
    if (onEvent !== undefined && typeof onEvent !== "function") throw configError("onEvent must be a function");
    if (onAlert !== undefined && typeof onAlert !== "function") throw configError("onAlert must be a function");
    const wrongPrices = checkPrices(prices);
    if (wrongPrices) throw configError(wrongPrices);
    this.#prices = prices;
    if (tokenizer !== "heuristic" && tokenizer !== "tekken") {
      throw configError(`tokenizer must be "heuristic" or "tekken", got ${JSON.stringify(tokenizer)}`);
    }
    const apiKey = rest.apiKey ?? keyFromEnvironment();
    if (inBrowser && apiKey && !rest.dangerouslyAllowBrowser) {
      throw configError(
        "an API key in a browser page is readable by anyone who opens it: point serverURL at a proxy that adds " +
          "the key, or pass dangerouslyAllowBrowser: true if you accept that",
      );
    }
    // With tokenizer "tekken", the first call starts loading the vocabulary; the
    // heuristic estimates until it is ready.
    let loading = tokenizer === "tekken" ? undefined : null;
    let counter;
    const useTekken = () => {
      if (loading !== undefined) return;
      loading = tekkenCounter().then(
        (loaded) => {
          counter = (text) => loaded.countRequestText(text);
          this.#client().useCounter(counter);
        },
        () => {},
      );
    };
    // Built again, with the same options, when a trap restarted the module.
    this.#build = () => {
      const client = new (runtime.live().Client)({ ...rest, apiKey }, makeError, (event) => this.#emit(event));
      if (counter) client.useCounter(counter);
      if (shared) client.shareBudget(shared.name, `${shared.name}/${holderId()}`, shared.lease);
      return client;
    };
    this.#generation = runtime.currentGeneration();
    this.#wasm = runtime.guard(this.#build, internalError);
    if (onEvent) this.#listeners.add(onEvent);
    if (onAlert) this.#listeners.add((event) => event.type === "alert" && onAlert(event));
    observeOnMeter(() => this.metrics(), version()).catch(() => {});

    // Every misuse is a rejected promise (or a stream that fails on its first
    // step), never a throw at the call.
    const call = (kind, ids, body, q, opts) => {
      try {
        useTekken();
        const sent = body === bodiless ? undefined : { ...request(body) };
        return runtime.track(() => this.#client().call(kind, pathIds(ids), sent, q, opts), internalError);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    const stream = (kind, ids, body, opts) => {
      let opened;
      const born = runtime.currentGeneration();
      try {
        useTekken();
        const sent = { ...request(body), stream: true };
        opened = runtime.track(() => this.#client().stream(kind, pathIds(ids), sent, opts), internalError);
      } catch (e) {
        opened = Promise.reject(e);
      }
      return new EventStreamIterable(opened, born);
    };
    // A completion whole (`stream: false`) or streamed.
    const whole = (kind, ids, body, opts) => {
      try {
        return call(kind, ids, { ...request(body), stream: false }, undefined, opts);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    const completions = (kind) => ({
      complete: (request, opts) => whole(kind, [], request, opts),
      stream: (request, opts) => stream(kind, [], request, opts),
    });

    this.chat = completions("chat.complete");
    this.fim = completions("fim.complete");
    this.agents = completions("agents.complete");
    const embed = (request, opts) => call("embeddings.create", [], request, undefined, opts);
    const tokenLane = () => this.status().lanes.find((l) => l.unit === "tokens" && l.model === null && l.windowMs === 60_000)?.limit;
    const count = (text) => runtime.live().textTokens(text);
    this.embeddings = {
      create: embed,
      createMany: async (request, opts) => createMany({ embed, count, tokenLane, configError }, request, opts),
    };
    this.classifiers = {
      moderate: (request, opts) => call("classifiers.moderate", [], request, undefined, opts),
      moderateChat: (request, opts) => call("classifiers.moderateChat", [], request, undefined, opts),
      classify: (request, opts) => call("classifiers.classify", [], request, undefined, opts),
      classifyChat: (request, opts) => call("classifiers.classifyChat", [], request, undefined, opts),
    };
    this.models = {
      list: (params, opts) => call("models.list", [], bodiless, query(params), opts),
      retrieve: (modelId, opts) => call("models.retrieve", [modelId], bodiless, undefined, opts),
      delete: (modelId, opts) => call("models.delete", [modelId], bodiless, undefined, opts),
    };
    /**
     * A fetch for other clients (the official SDK, the AI SDK): the request goes
     * through this client's budget as the call of its route would, streams pass
     * through as they come, and what the server answers last is the response.
     */
    this.fetch = async (input, init) => {
      const req = new Request(input, init);
      const headers = Object.fromEntries(req.headers);
      delete headers["content-length"];
      if (!headers.authorization && apiKey) headers.authorization = `Bearer ${apiKey}`;
      const json = /json/.test(headers["content-type"] ?? "");
      const body = req.body === null ? undefined : json ? await req.text() : new Uint8Array(await req.arrayBuffer());
      useTekken();
      const reply = await runtime.track(() => this.#client().fetchCall(req.method, req.url, headers, body, req.signal), internalError);
      // The body is handed on decoded: its length and encoding no longer hold.
      const out = new Headers(reply.headers.filter(([name]) => !/^content-(length|encoding)$/i.test(name)));
      if (!reply.stream) return new Response(reply.body, { status: reply.status, headers: out });
      const stream = reply.stream;
      const passed = new ReadableStream({
        async pull(controller) {
          const chunk = await runtime.track(() => stream.pull(), internalError);
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: () => stream.cancel(),
      });
      return new Response(passed, { status: reply.status, headers: out });
    };
    this.beta = {
      conversations: {
        start: (request, opts) => whole("conversations.start", [], request, opts),
        startStream: (request, opts) => stream("conversations.start", [], request, opts),
        append: (id, request, opts) => whole("conversations.append", [id], request, opts),
        appendStream: (id, request, opts) => stream("conversations.append", [id], request, opts),
        restart: (id, request, opts) => whole("conversations.restart", [id], request, opts),
        restartStream: (id, request, opts) => stream("conversations.restart", [id], request, opts),
        get: (id, opts) => call("conversations.get", [id], bodiless, undefined, opts),
        getHistory: (id, opts) => call("conversations.getHistory", [id], bodiless, undefined, opts),
        getMessages: (id, opts) => call("conversations.getMessages", [id], bodiless, undefined, opts),
        list: (params, opts) => call("conversations.list", [], bodiless, query(params), opts),
        delete: (id, opts) => call("conversations.delete", [id], bodiless, undefined, opts),
      },
      agents: {
        create: (request, opts) => call("agents.create", [], request, undefined, opts),
        list: (params, opts) => call("agents.list", [], bodiless, query(params), opts),
        get: (agentId, params, opts) => call("agents.get", [agentId], bodiless, query(params), opts),
        update: (agentId, request, opts) => call("agents.update", [agentId], request, undefined, opts),
        delete: (agentId, opts) => call("agents.delete", [agentId], bodiless, undefined, opts),
        updateVersion: (agentId, version, opts) => call("agents.updateVersion", [agentId], bodiless, query({ version }), opts),
        listVersions: (agentId, params, opts) => call("agents.listVersions", [agentId], bodiless, query(params), opts),
        getVersion: (agentId, version, opts) => call("agents.getVersion", [agentId, version], bodiless, undefined, opts),
        createVersionAlias: (agentId, alias, version, opts) =>
          call("agents.createVersionAlias", [agentId], bodiless, query({ alias, version }), opts),
        listVersionAliases: (agentId, opts) => call("agents.listVersionAliases", [agentId], bodiless, undefined, opts),
        deleteVersionAlias: (agentId, alias, opts) =>
          call("agents.deleteVersionAlias", [agentId], bodiless, query({ alias }), opts),
      },
    };
  }

  /** Lanes, queue, the server's last report and counters, as of now. */
  status() {
    return runtime.guard(() => this.#client().status(), internalError);
  }

  /**
   * Per model and overall: calls, errors by class, requests, 429s and their share,
   * retries, tokens, estimated cost, and latency, time to first token and queue
   * wait (p50, p95). `{ format: "prometheus" }` gives the text exposition format.
   */
  metrics(options = {}) {
    const { format = "json", ...extra } = options ?? {};
    if (Object.keys(extra).length || (format !== "json" && format !== "prometheus")) {
      throw configError('metrics() takes { format: "json" | "prometheus" }');
    }
    const figures = withCost(runtime.guard(() => this.#client().metrics(), internalError), this.#prices);
    return format === "prometheus" ? prometheus(figures) : figures;
  }

  /** Subscribes to client events; returns the function that unsubscribes. */
  on(listener) {
    if (typeof listener !== "function") throw configError("on() takes a function");
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // The wasm client, built anew if a trap restarted the module since.
  #client() {
    const generation = runtime.currentGeneration();
    if (this.#generation !== generation) {
      this.#wasm = this.#build();
      this.#generation = generation;
    }
    return this.#wasm;
  }

  /** Fault injection for tests/client/recovery.test.mjs: a panic now or in the next task. */
  [Symbol.for("mistral-ratelimit.panicForTests")](later) {
    return runtime.guard(() => this.#client().panicForTests(later), internalError);
  }

  #emit(event) {
    for (const listener of this.#listeners) listener(event);
  }
}
