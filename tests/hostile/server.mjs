// A scripted Mistral server that misbehaves on purpose. The first segment of the
// path picks the misbehaviour: a client built with
// `serverURL: "http://127.0.0.1:PORT/limit-zero"` sends every call to
// `/limit-zero/v1/...`. Plain `node:http`, 127.0.0.1 only, CORS for a page.
//
//   import { startHostileServer } from "./server.mjs";   // { url, stats(), reset(), close() }
//   node tests/hostile/server.mjs [--port N]             // prints "hostile listening on URL"
//
// GET /__stats gives, per scenario: requests (preflights apart), stream requests,
// replies finished, and replies the client dropped before their end.
import http from "node:http";
import { pathToFileURL } from "node:url";

/** A valid chat completion: what every scenario answers unless it says otherwise. */
export const VALID_REPLY = {
  id: "x",
  object: "chat.completion",
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
};

const chunk = (delta, finish, usage) => ({
  id: "x",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});

/** A valid SSE stream, `[DONE]` included. */
export const VALID_STREAM =
  [
    chunk({ role: "assistant", content: "" }, null),
    chunk({ content: "h" }, null),
    chunk({ content: "i" }, "stop", VALID_REPLY.usage),
  ]
    .map((c) => `data: ${JSON.stringify(c)}\n\n`)
    .join("") + "data: [DONE]\n\n";

const RATE_LIMITED = JSON.stringify({
  object: "error",
  message: "Rate limit exceeded",
  type: "rate_limited",
  param: null,
  code: "1300",
  raw_status_code: 429,
});

// Every header a scenario sends that a page must be allowed to read.
const LIMIT_HEADERS = [
  "x-ratelimit-limit-req-second",
  "x-ratelimit-remaining-req-second",
  "x-ratelimit-limit-tokens-minute",
  "x-ratelimit-remaining-tokens-minute",
  "x-ratelimit-limit-tokens-month",
  "x-ratelimit-remaining-tokens-month",
];
const ABSURD_WINDOWS = {
  "x-ratelimit-limit-req-4294967295-month": "1",
  "x-ratelimit-limit-tokens-0-second": "5",
  "x-ratelimit-remaining-req-99999999999999999999-day": "1",
};
const EXPOSED = [
  ...LIMIT_HEADERS,
  ...Object.keys(ABSURD_WINDOWS),
  "x-ratelimit-tokens-query-cost",
  "x-envoy-upstream-service-time",
  "retry-after",
  "retry-after-ms",
];
const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, accept",
  "access-control-expose-headers": ["*", ...EXPOSED].join(", "),
  "access-control-max-age": "600",
};

const HUGE_BYTES = 50 * 1024 * 1024;
const DATA_LINES = 1_000_000;
const TEN_YEARS_S = 315_360_000;

/** Every value of `headers` set to `value`. */
const all = (headers, value) => Object.fromEntries(headers.map((h) => [h, value]));
/** The `n`th (1-based) of `values`, round and round. */
const cycle = (values, n) => values[(n - 1) % values.length];

/**
 * The scenarios: `n` is the scenario's request count (1 for its first request),
 * `stream` whether the body asked for `"stream": true`. Each returns the reply:
 * `{ status, headers, body }` (a string), or `{ status, headers, write }` (a
 * function that streams the body, minding backpressure). Headers default to a
 * valid reply's; `body` defaults to the valid reply or stream.
 */
export const SCENARIOS = {
  // The control: a server that behaves.
  healthy: () => ({}),
  "limit-zero": (n) =>
    n === 1 ? { headers: { "x-ratelimit-limit-tokens-minute": "0", "x-ratelimit-limit-req-second": "0" } } : {},
  "limit-negative": () => ({ headers: all(LIMIT_HEADERS, "-5") }),
  "limit-huge": () => ({ headers: all(LIMIT_HEADERS, "18446744073709551616000") }),
  "limit-nan": (n) => ({ headers: all(LIMIT_HEADERS, cycle(["abc", "1e5", " "], n)) }),
  "window-absurd": () => ({ headers: ABSURD_WINDOWS }),
  "timing-absurd": (n) => ({ headers: { "x-envoy-upstream-service-time": cycle(["1e30", "-5", "NaN", "Infinity"], n) } }),
  "not-json": () => ({ headers: { "content-type": "text/html" }, body: "<html>oops</html>" }),
  "json-array": () => ({ headers: { "content-type": "application/json" }, body: "[1,2,3]" }),
  "json-null": () => ({ headers: { "content-type": "application/json" }, body: "null" }),
  "empty-200": () => ({ body: "" }),
  "empty-204-stream": () => ({ status: 204, body: "" }),
  "huge-error": () => ({ status: 500, headers: { "content-type": "text/plain" }, write: repeat("x", HUGE_BYTES) }),
  "huge-error-400": () => ({ status: 400, headers: { "content-type": "text/plain" }, write: repeat("x", HUGE_BYTES) }),
  "million-data-lines": () => ({
    headers: { "content-type": "text/event-stream" },
    write: repeat("data: x\n", DATA_LINES * 8, "\n"),
  }),
  "retry-after-ten-years": () => ({
    status: 429,
    headers: { "content-type": "application/json", "retry-after": String(TEN_YEARS_S) },
    body: RATE_LIMITED,
  }),
  "retry-after-ten-years-date": () => ({
    status: 429,
    headers: {
      "content-type": "application/json",
      "retry-after": new Date(Date.now() + TEN_YEARS_S * 1000).toUTCString(),
    },
    body: RATE_LIMITED,
  }),
};

/**
 * A body of `unit` repeated to `bytes` bytes (a whole number of units), then
 * `tail`, written in chunks of about 64 KiB as the socket drains.
 */
function repeat(unit, bytes, tail = "") {
  return async (res) => {
    const perChunk = Math.max(1, Math.floor(65536 / unit.length));
    const block = Buffer.from(unit.repeat(perChunk));
    let left = Math.floor(bytes / unit.length);
    while (left > 0 && !res.destroyed) {
      const units = Math.min(perChunk, left);
      left -= units;
      const ok = res.write(units === perChunk ? block : block.subarray(0, units * unit.length));
      if (!ok) await drainedOrClosed(res);
    }
    if (!res.destroyed) res.end(tail);
  };
}

function drainedOrClosed(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function newStats() {
  return Object.fromEntries(
    Object.keys(SCENARIOS).map((name) => [
      name,
      { requests: 0, streamRequests: 0, preflights: 0, finished: 0, dropped: 0, statuses: {} },
    ]),
  );
}

/** Reads a request body up to `limit` bytes (the rest is discarded). */
function readBody(req, limit = 1 << 20) {
  return new Promise((resolve) => {
    const parts = [];
    let size = 0;
    req.on("data", (d) => {
      if (size < limit) parts.push(d);
      size += d.length;
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

/** Starts the server on 127.0.0.1 (`port` 0 picks a free one). */
export async function startHostileServer({ port = 0 } = {}) {
  let stats = newStats();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    try {
      if (req.method === "OPTIONS") {
        const name = url.pathname.split("/")[1];
        if (stats[name]) stats[name].preflights++;
        res.writeHead(204, CORS).end();
        return;
      }
      if (url.pathname === "/__stats") {
        res.writeHead(200, { ...CORS, "content-type": "application/json" }).end(JSON.stringify(stats));
        return;
      }
      if (url.pathname === "/__reset" && req.method === "POST") {
        stats = newStats();
        res.writeHead(204, CORS).end();
        return;
      }
      const m = url.pathname.match(/^\/([^/]+)(\/v1\/.*)$/);
      const scenario = m && SCENARIOS[m[1]];
      if (!scenario) {
        res
          .writeHead(404, { ...CORS, "content-type": "application/json" })
          .end(JSON.stringify({ detail: `no scenario for ${url.pathname}` }));
        return;
      }
      const s = stats[m[1]];
      const raw = await readBody(req);
      let stream = false;
      try {
        stream = JSON.parse(raw)?.stream === true;
      } catch {}
      const n = ++s.requests;
      if (stream) s.streamRequests++;

      const reply = scenario(n, stream);
      const status = reply.status ?? 200;
      s.statuses[status] = (s.statuses[status] ?? 0) + 1;
      res.on("finish", () => s.finished++);
      res.on("close", () => {
        if (!res.writableFinished) s.dropped++;
      });
      const headers = {
        ...CORS,
        "content-type": stream ? "text/event-stream" : "application/json",
        ...(stream ? { "cache-control": "no-cache" } : {}),
        ...reply.headers,
      };
      if (reply.write) {
        res.writeHead(status, headers);
        await reply.write(res);
        return;
      }
      const body = reply.body ?? (stream ? VALID_STREAM : JSON.stringify(VALID_REPLY));
      if (status === 204) {
        delete headers["content-type"];
        res.writeHead(204, headers).end();
        return;
      }
      res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) }).end(body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, CORS).end(`hostile server: ${e}`);
      else res.destroy();
    }
  });
  // A dropped client must not take the server down.
  server.on("clientError", (_e, socket) => socket.destroy());

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    stats: () => structuredClone(stats),
    reset: () => {
      stats = newStats();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Run as a program: listen, print the URL, stop on SIGTERM or SIGINT.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--port");
  const hostile = await startHostileServer({ port: i > 0 ? Number(process.argv[i + 1]) : 0 });
  console.log(`hostile listening on ${hostile.url}`);
  const stop = async () => {
    await hostile.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
