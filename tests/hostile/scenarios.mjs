// The hostile-server checks, one runtime-neutral module: Node (node.test.mjs),
// Deno (deno.mjs) and Chromium (browser.mjs) all run this same code, each handing
// in the package as its own entry loads it. Nothing here imports a runtime module.
//
// For each scenario of server.mjs a client on `BASE/<scenario>` makes its hostile
// calls (a plain call and, where it matters, a streamed one), then two more calls.
// Every call must settle within 15 s, in a value or a typed error (an instance of
// the package's `MistralRatelimitError` with a string `code`) that never names the
// key; after them nothing may be left in flight or queued, and nothing may escape
// as an unhandled rejection or uncaught error. Some scenarios ask for more (below).

/** The key every client sends; no error may show it. */
export const API_KEY = "k";
/** The longest any one call may take to settle. */
export const CALL_DEADLINE_MS = 15_000;
/** Calls per scenario, at most: hostile plain, hostile stream, two later ones. */
export const CALLS_PER_SCENARIO = 4;
/** How long a host waits for a scenario's result before it kills its realm. */
export const SCENARIO_DEADLINE_MS = CALLS_PER_SCENARIO * CALL_DEADLINE_MS + 15_000;

/**
 * A scenario's result in a worker, settled once: by the worker's answer, its death
 * (`fail(why)`), or the deadline. `stop` ends the worker.
 */
export function settleOnce(name, stop) {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  let done = false;
  const finish = (result) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stop();
    resolve(result);
  };
  const fail = (why) => finish({ name, ok: false, failures: [why], calls: [] });
  const timer = setTimeout(() => fail(`no result within ${SCENARIO_DEADLINE_MS / 1000} s: the worker was stuck`), SCENARIO_DEADLINE_MS);
  return { promise, finish, fail };
}

export const REQUEST = {
  model: "mistral-small-latest",
  messages: [{ role: "user", content: "Hello" }],
  max_tokens: 8,
};

/**
 * The scenarios, in server.mjs's terms. `stream`: also make a streamed hostile
 * call. Every success must be an object (a reply, or a stream's chunks).
 * `hostileOk`: the hostile calls must succeed. `hostileError`: they must
 * fail with this class (of a list: the plain call with the first, the stream with
 * any). `laterOkWithinMs`: the later calls must succeed, each within this.
 * `maxMessageBytes`: every error message must be shorter.
 */
export const SCENARIOS = [
  { name: "healthy", stream: true, hostileOk: true, laterOkWithinMs: 2000 },
  // A zero limit must not disable the client for good.
  { name: "limit-zero", stream: false, laterOkWithinMs: 2000 },
  { name: "limit-negative", stream: true },
  { name: "limit-huge", stream: true },
  { name: "limit-nan", stream: true },
  { name: "window-absurd", stream: true },
  // Today `1e30` may trap the wasm (RuntimeError: unreachable): an untyped error.
  { name: "timing-absurd", stream: true },
  // A reply that breaks the protocol is the server's fault, never the caller's
  // ConfigError. An empty 200 to a stream looks like a stream cut short.
  { name: "not-json", stream: true, hostileError: "ProtocolError" },
  { name: "json-array", stream: true, hostileError: "ProtocolError" },
  { name: "json-null", stream: true, hostileError: "ProtocolError" },
  { name: "empty-200", stream: true, hostileError: ["ProtocolError", "ConnectionError"] },
  { name: "empty-204-stream", stream: true, hostileError: "ProtocolError" },
  { name: "huge-error", stream: true, maxMessageBytes: 2048 },
  { name: "huge-error-400", stream: true, maxMessageBytes: 2048 },
  { name: "million-data-lines", stream: true, maxMessageBytes: 2048, hostileError: "ProtocolError" },
  // Not ten years of waiting: a RateLimitError, within the deadline. The 429 closes
  // admission for everyone for a while (a minute at most), so the calls after it may
  // instead be refused up front by their queueTimeoutMs.
  { name: "retry-after-ten-years", stream: true, hostileError: ["RateLimitError", "QueueTimeoutError"] },
  { name: "retry-after-ten-years-date", stream: true, hostileError: ["RateLimitError", "QueueTimeoutError"] },
];

/** The client options every scenario uses. */
export function clientOptions(serverURL) {
  return {
    apiKey: API_KEY,
    serverURL,
    requestsPerSecond: 50,
    maxRetries: 1,
    baseDelayMs: 50,
    maxDelayMs: 200,
    timeoutMs: 5000,
    queueTimeoutMs: 5000,
    // The browser run calls from a page, where a key needs this.
    dangerouslyAllowBrowser: true,
  };
}

// --- Errors that escape every call: collected, per realm, once. ---

const strays = [];
let catching = false;

function catchStrays() {
  if (catching) return;
  catching = true;
  const record = (kind, e) => strays.push(`${kind}: ${e?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 300)}`);
  if (globalThis.Deno === undefined && typeof globalThis.process?.on === "function") {
    process.on("unhandledRejection", (e) => record("unhandled rejection", e));
    process.on("uncaughtException", (e) => record("uncaught exception", e));
  } else if (typeof globalThis.addEventListener === "function") {
    globalThis.addEventListener("unhandledrejection", (ev) => {
      ev.preventDefault();
      record("unhandled rejection", ev.reason);
    });
    globalThis.addEventListener("error", (ev) => {
      ev.preventDefault();
      record("uncaught error", ev.error ?? ev.message);
    });
  }
}

// --- One call, raced against the deadline. ---

const now = () => globalThis.performance?.now() ?? Date.now();
const byteLength = (s) => new TextEncoder().encode(s).length;
const short = (s, n = 240) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
// The key as a word of its own ("k" is in too many words to look for as text).
const keyPattern = new RegExp(`(^|[^A-Za-z0-9_-])${API_KEY}([^A-Za-z0-9_-]|$)|Bearer`);

function describeError(pkg, e) {
  const message = typeof e?.message === "string" ? e.message : String(e);
  let fields = "";
  try {
    fields = JSON.stringify(e) ?? "";
  } catch (x) {
    fields = `(not serialisable: ${x})`;
  }
  return {
    name: e?.name ?? typeof e,
    typed: e instanceof pkg.MistralRatelimitError,
    code: e?.code,
    status: e?.status,
    retryAfterMs: e?.retryAfterMs,
    message: short(message),
    messageBytes: byteLength(message),
    fieldsBytes: fields.length,
    // The message, the fields, and the string form, for the key check only.
    leaksKey: keyPattern.test(message) || keyPattern.test(fields) || keyPattern.test(String(e)),
  };
}

async function timed(pkg, label, fn) {
  const started = now();
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ hung: true }), CALL_DEADLINE_MS);
  });
  const settled = Promise.resolve()
    .then(fn)
    .then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
  const r = await Promise.race([settled, deadline]);
  clearTimeout(timer);
  const ms = Math.round(now() - started);
  if (r.hung) return { label, outcome: "hung", ms };
  if ("error" in r) return { label, outcome: "error", ms, error: describeError(pkg, r.error) };
  return { label, outcome: "ok", ms, ...r.value };
}

// What a call resolved to: only an object is a reply a caller can read.
const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const plain = (client) => async () => ({ kind: kind(await client.chat.complete(REQUEST)) });
const streamed = (client) => async () => {
  let chunks = 0;
  const kinds = new Set();
  for await (const chunk of client.chat.stream(REQUEST)) {
    chunks++;
    kinds.add(kind(chunk));
  }
  return { kind: [...kinds].join("+") || "object", chunks };
};

/**
 * Runs scenario `name` against the hostile server at `baseURL` with the package
 * `pkg` (its module namespace). Returns a plain, cloneable result:
 * `{ name, ok, failures, calls, status }`.
 */
export async function runScenario(pkg, baseURL, name) {
  catchStrays();
  const spec = SCENARIOS.find((s) => s.name === name);
  if (!spec) throw new Error(`no scenario ${name}`);
  const strayMark = strays.length;
  const failures = [];
  const calls = [];
  let client;
  try {
    client = new pkg.MistralRatelimitClient(clientOptions(`${baseURL}/${name}`));
  } catch (e) {
    return { name, ok: false, failures: [`the client was refused: ${e?.name}: ${e?.message}`], calls };
  }

  calls.push(await timed(pkg, "plain", plain(client)));
  if (spec.stream) calls.push(await timed(pkg, "stream", streamed(client)));
  const hostile = calls.length;
  calls.push(await timed(pkg, "later 1", plain(client)));
  calls.push(await timed(pkg, "later 2", plain(client)));

  calls.forEach((c, i) => {
    const isLater = i >= hostile;
    if (c.outcome === "hung") failures.push(`${c.label}: did not settle within ${CALL_DEADLINE_MS / 1000} s`);
    if (c.outcome === "error") {
      const e = c.error;
      if (!e.typed) failures.push(`${c.label}: rejected with an untyped ${e.name}: ${e.message}`);
      else if (typeof e.code !== "string") failures.push(`${c.label}: a ${e.name} without a string code`);
      if (e.leaksKey) failures.push(`${c.label}: the error shows the API key: ${e.message}`);
      if (spec.maxMessageBytes && e.messageBytes >= spec.maxMessageBytes) {
        failures.push(`${c.label}: a ${e.messageBytes}-byte message (limit ${spec.maxMessageBytes})`);
      }
    }
    // Beyond "settles": a value that is not an object breaks the caller's
    // `reply.choices[0]` with a TypeError, outside the typed errors.
    if (c.outcome === "ok" && c.kind !== "object") {
      failures.push(`${c.label}: resolved to ${c.kind}, not a reply object`);
    }
    const describe = () => (c.outcome === "error" ? `${c.error.name}: ${c.error.message}` : c.outcome);
    if (!isLater && spec.hostileOk && c.outcome === "error") failures.push(`${c.label}: expected success, got ${describe()}`);
    if (!isLater && spec.hostileOk && c.chunks === 0) failures.push(`${c.label}: a stream with no chunks`);
    const expected = [spec.hostileError ?? []].flat();
    // The first call meets the server's answer itself; later ones may meet the pause it caused.
    const allowed = c.label.startsWith("plain") ? expected.slice(0, 1) : expected;
    if (!isLater && spec.hostileError && c.outcome !== "hung" && !(c.outcome === "error" && allowed.includes(c.error.name))) {
      failures.push(`${c.label}: expected ${allowed.join(" or ")}, got ${describe()}`);
    }
    if (isLater && spec.laterOkWithinMs && c.outcome !== "hung") {
      if (c.outcome !== "ok") failures.push(`${c.label}: expected success, got ${describe()}`);
      else if (c.ms > spec.laterOkWithinMs) failures.push(`${c.label}: took ${c.ms} ms (limit ${spec.laterOkWithinMs})`);
    }
  });

  let status;
  try {
    const s = client.status();
    status = { inFlight: s.inFlight, queued: s.queued };
    if (s.inFlight !== 0 || s.queued !== 0) failures.push(`status: inFlight ${s.inFlight}, queued ${s.queued} after every call settled`);
  } catch (e) {
    failures.push(`status() threw ${e?.name}: ${String(e?.message ?? e).slice(0, 200)}`);
  }

  // Let a late rejection surface before counting strays.
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (const s of strays.slice(strayMark)) failures.push(`escaped: ${s}`);
  return { name, ok: failures.length === 0, failures, calls, status };
}

/** One line per call, then the failures: for any host's log. */
export function formatResult(r, server) {
  const call = (c) => {
    const what = c.chunks !== undefined ? ` (${c.chunks} chunks)` : c.kind && c.kind !== "object" ? ` (${c.kind})` : "";
    const base = `${c.label} ${c.outcome}${what} ${c.ms} ms`;
    if (c.outcome !== "error") return base;
    const e = c.error;
    return `${base}: ${e.typed ? "" : "UNTYPED "}${e.name}${e.code ? ` [${e.code}]` : ""}${e.status ? ` ${e.status}` : ""}: ${short(e.message, 160)}`;
  };
  const lines = [`${r.ok ? "PASS" : "FAIL"} ${r.name}`];
  for (const c of r.calls ?? []) lines.push(`    ${call(c)}`);
  if (server) {
    lines.push(
      `    server: ${server.requests} requests (${server.streamRequests} streamed), statuses ${JSON.stringify(server.statuses)}, ${server.dropped} replies dropped unread`,
    );
  }
  for (const f of r.failures ?? []) lines.push(`  ✗ ${f}`);
  return lines.join("\n");
}

/** Runs `task` over `items`, at most `limit` at once, results in order. */
export async function pool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
