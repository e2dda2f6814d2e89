// A proxy Worker for Mistral's API: every caller presents this proxy's token,
// never the API key, and every isolate of every colo spends one budget, held by
// the MistralBudget Durable Object. An allowed origin only gets CORS headers:
// any client can send any Origin, so it proves nothing.
import { MistralBudget, MistralRatelimitClient, MistralRatelimitError } from "mistral-ratelimit";

export { MistralBudget };

// One client per isolate, shared by the requests it serves.
let client;

function clientFor(env) {
  client ??= new MistralRatelimitClient({
    apiKey: env.MISTRAL_API_KEY,
    serverURL: env.UPSTREAM_URL,
    requestsPerSecond: Number(env.REQUESTS_PER_SECOND),
    tokensPerMinute: Number(env.TOKENS_PER_MINUTE),
    budget: { durableObject: env.MISTRAL_BUDGET, name: env.BUDGET_NAME },
  });
  return client;
}

export default {
  async fetch(request, env) {
    const cors = corsHeaders(request.headers.get("origin"), env);
    // Browsers send a preflight without credentials, so it needs no token; it is
    // answered here and never reaches Mistral.
    if (request.method === "OPTIONS") {
      return new Response(null, { status: cors ? 204 : 403, headers: cors ?? {} });
    }
    if (!env.PROXY_TOKEN) {
      return errorResponse(500, "proxy_token_unset", "this proxy has no PROXY_TOKEN: set it with `wrangler secret put PROXY_TOKEN`", cors);
    }
    if (!(await hasToken(request, env.PROXY_TOKEN))) {
      return errorResponse(401, "unauthorized", "send this proxy's token as the header `Authorization: Bearer <PROXY_TOKEN>`", {
        ...cors,
        "www-authenticate": "Bearer",
      });
    }
    try {
      const response = await route(request, env);
      for (const [k, v] of Object.entries(cors ?? {})) response.headers.set(k, v);
      return response;
    } catch (e) {
      return errorFor(e, cors);
    }
  },
};

async function route(request, env) {
  const url = new URL(request.url);
  const c = clientFor(env);
  const call = { signal: request.signal };
  if (url.pathname === "/budget" && request.method === "GET") {
    const object = env.MISTRAL_BUDGET.get(env.MISTRAL_BUDGET.idFromName(env.BUDGET_NAME));
    return Response.json({ client: c.status(), object: await object.status() });
  }
  const conversations = c.beta.conversations;
  // /v1/chat/completions, /v1/conversations[/{id}[/restart|history|messages]]
  const m = url.pathname.match(/^\/v1\/(chat\/completions|conversations)(?:\/([^/]+))?(?:\/(restart|history|messages))?$/);
  if (!m) return errorResponse(404, "not_found", `${url.pathname} is not proxied: /v1/chat/completions, /v1/conversations/* and /budget are`);
  const [, resource, id, sub] = m;
  const body = request.method === "POST" ? await request.json() : undefined;
  const streamed = body?.stream === true;
  if (body) delete body.stream;
  switch (`${request.method} ${resource}${id ? "/:id" : ""}${sub ? `/${sub}` : ""}`) {
    case "POST chat/completions":
      return streamed ? sse(c.chat.stream(body, call), true) : Response.json(await c.chat.complete(body, call));
    case "POST conversations":
      return streamed ? sse(conversations.startStream(body, call)) : Response.json(await conversations.start(body, call));
    case "POST conversations/:id":
      return streamed ? sse(conversations.appendStream(id, body, call)) : Response.json(await conversations.append(id, body, call));
    case "POST conversations/:id/restart":
      return streamed ? sse(conversations.restartStream(id, body, call)) : Response.json(await conversations.restart(id, body, call));
    case "GET conversations":
      return Response.json(await conversations.list(Object.fromEntries(url.searchParams), call));
    case "GET conversations/:id":
      return Response.json(await conversations.get(id, call));
    case "GET conversations/:id/history":
      return Response.json(await conversations.getHistory(id, call));
    case "GET conversations/:id/messages":
      return Response.json(await conversations.getMessages(id, call));
    case "DELETE conversations/:id":
      await conversations.delete(id, call);
      return new Response(null, { status: 204 });
    default:
      return errorResponse(404, "not_found", `${request.method} ${url.pathname} is not proxied`);
  }
}

// Each event goes out as it arrives. Chat completions end with [DONE]; the
// conversations API names each event's type.
function sse(events, chat = false) {
  const encoder = new TextEncoder();
  const iterator = events[Symbol.asyncIterator]();
  const body = new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await iterator.next();
        if (done) {
          if (chat) controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
          return;
        }
        const name = !chat && typeof value?.type === "string" ? `event: ${value.type}\n` : "";
        controller.enqueue(encoder.encode(`${name}data: ${JSON.stringify(value)}\n\n`));
      } catch (e) {
        const { status, error } = describe(e);
        controller.enqueue(encoder.encode(`event: error\ndata: ${JSON.stringify({ status, error })}\n\n`));
        controller.close();
      }
    },
    cancel: () => iterator.return?.(),
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

// Both sides are hashed first so that timingSafeEqual compares equal lengths and
// the time taken tells nothing of the token, not even its length.
async function hasToken(request, token) {
  const digest = (text) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const [sent, expected] = await Promise.all([digest(request.headers.get("authorization") ?? ""), digest(`Bearer ${token}`)]);
  return crypto.subtle.timingSafeEqual(sent, expected);
}

function corsHeaders(origin, env) {
  const allowed = (env.ALLOWED_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  if (!origin || !allowed.includes(origin)) return undefined;
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": "content-type, authorization",
    "access-control-max-age": "86400",
    vary: "origin",
  };
}

// The package's errors keep their class and code; the status is the server's, or
// what the error means for a caller of this proxy.
const statuses = {
  RateLimitError: 429, QueueTimeoutError: 503, TimeoutError: 504, ConnectionError: 502,
  AbortError: 499, ConfigError: 400, InternalError: 500,
};

function describe(e) {
  if (!(e instanceof MistralRatelimitError)) return { status: 500, error: { type: "InternalError", code: "internal", message: "the proxy failed" } };
  return { status: e.status ?? statuses[e.name] ?? 502, error: { type: e.name, code: e.code, message: e.message } };
}

function errorFor(e, cors) {
  if (e instanceof SyntaxError) return errorResponse(400, "bad_request", "the request body is not JSON", cors);
  const { status, error } = describe(e);
  return Response.json({ error }, { status, headers: cors ?? {} });
}

function errorResponse(status, code, message, headers = {}) {
  return Response.json({ error: { type: "ProxyError", code, message } }, { status, headers });
}
