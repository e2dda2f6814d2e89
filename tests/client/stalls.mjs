// A call stopped in each state it can be in: queued, sent with no answer, a head
// whose body stalls, a stream gone silent; by its signal or by its bound. Imports
// nothing: Node and Deno run it in-process (deadlines.test.mjs), Chromium in a page
// (tests/www/page.mjs). The server half, `STALLS`, paces a node:http reply.

export const BOUND = 300;
export const SLACK = 250;

const EVENT = `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] })}\n\n`;
const REPLY = JSON.stringify({ id: "x", object: "chat.completion", model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

/** Where the server stalls, by the first segment of the path. */
export const STALLS = {
  // Never answers.
  head: () => {},
  // A head, and half a body.
  body: (res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "200" });
    res.write('{"id":"x",');
  },
  // A stream's first event, then silence.
  stream: (res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(EVENT);
  },
  // A whole reply at once.
  ok: (res) => res.writeHead(200, { "content-type": "application/json" }).end(REPLY),
};

const request = { model: "mistral-small-latest", messages: [{ role: "user", content: "hi" }], max_tokens: 4 };
const plain = (c, signal, extra = {}) => c.chat.complete(request, { signal, ...extra });
const streamed = async (c, signal) => {
  for await (const _ of c.chat.stream(request, { signal }));
};

/**
 * Every case against the stalling server at `url`, with clients made by `Client`:
 * `{ name, want, error, took, inFlight, queued }` each, `error` the error's name.
 */
export async function stopEverywhere(Client, url) {
  const results = [];
  const made = (where, options) =>
    new Client({ apiKey: "k", serverURL: `${url}/${where}`, maxRetries: 0, dangerouslyAllowBrowser: true, ...options });
  const run = async (name, want, c, call, abortAfter) => {
    const abort = new AbortController();
    const timer = abortAfter === undefined ? undefined : setTimeout(() => abort.abort(), abortAfter);
    const started = performance.now();
    const error = await call(c, abort.signal).then(() => null, (e) => e);
    clearTimeout(timer);
    const { inFlight, queued } = c.status();
    results.push({ name, want, error: error?.name ?? null, took: performance.now() - started, inFlight, queued });
  };
  for (const [where, call, what] of [["head", plain, "a call"], ["head", streamed, "a stream"], ["body", plain, "a call"], ["stream", streamed, "a stream"]]) {
    await run(`${what} stalled at its ${where}, stopped by its signal`, "AbortError", made(where, {}), call, BOUND);
    const bounded = made(where, { timeoutMs: BOUND, streamIdleTimeoutMs: BOUND });
    await run(`${what} stalled at its ${where}, stopped by its timeout`, "TimeoutError", bounded, call);
  }
  const queue = made("ok", { requestsPerSecond: 0.2 });
  await plain(queue);
  await run("a call queued behind another, stopped by its signal", "AbortError", queue, plain, BOUND);
  await run("a call queued behind another, stopped by its queue bound", "QueueTimeoutError", queue, (c, s) => plain(c, s, { queueTimeoutMs: BOUND }));
  return results;
}
