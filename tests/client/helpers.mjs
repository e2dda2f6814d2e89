// Shared by the client tests: the built package, and mocks of our own.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const pkgDir = new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url);

/** The package as Node loads it (`node.js` entry). */
export const pkg = await import(new URL("node.js", pkgDir));

/**
 * Starts a mock of our own (`scripts/run/with-mock.sh` exports MISTRAL_MOCK_BIN) with
 * `args`; resolves once it listens. Stop it with `stop()`.
 */
export async function startMock(args = []) {
  const bin = process.env.MISTRAL_MOCK_BIN;
  if (!bin) throw new Error("MISTRAL_MOCK_BIN is not set: run through scripts/run/with-mock.sh");
  const child = spawn(bin, ["--port", "0", "--stream-tokens-per-second", "5000", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const m = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`mock exited with ${code}`)));
  });
  return {
    url,
    stats: async () => (await fetch(`${url}/__mock/stats`)).json(),
    faults: async (sequence) => {
      const r = await fetch(`${url}/__mock/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sequence }) });
      if (r.status !== 204) throw new Error(`fault script refused: ${await r.text()}`);
    },
    reset: async () => void (await fetch(`${url}/__mock/reset`, { method: "POST" })),
    stop: () => child.kill(),
  };
}

/**
 * The makespan of an oracle that knows each call's true cost: it sends every call,
 * in order, at the earliest instant both sliding windows allow (`rps` a second,
 * `tpm` a minute); each then takes `serviceMs`, plus its `completion` tokens at
 * `msPerOutputToken`. Calls are `{ total, completion }`.
 */
export function oracle(calls, { rps, tpm, serviceMs, msPerOutputToken = 0 }) {
  const sent = [];
  let t = 0;
  let end = 0;
  for (const { total, completion = 0 } of calls) {
    for (;;) {
      const inWindow = (w) => sent.filter((s) => s.t + w > t);
      const reqs = inWindow(1000);
      const toks = inWindow(60_000);
      if (reqs.length < rps && toks.reduce((n, s) => n + s.total, 0) + total <= tpm) break;
      const [blocked, w] = reqs.length >= rps ? [reqs, 1000] : [toks, 60_000];
      t = Math.min(...blocked.map((s) => s.t + w));
    }
    sent.push({ t, total });
    end = Math.max(end, t + serviceMs + completion * msPerOutputToken);
  }
  return end;
}

/**
 * A mock's service time, for the oracle: the median of five small calls, spaced to stay inside
 * any limit. The mock is reset afterwards, so the storm starts from empty windows.
 */
export async function serviceTime(mock) {
  const request = { model: "mistral-small-latest", messages: [{ role: "user", content: "probe" }], max_tokens: 1 };
  const took = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = await fetch(`${mock.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer probe", "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`the service-time probe got ${r.status}`);
    const ms = performance.now() - t;
    took.push(ms);
    await new Promise((res) => setTimeout(res, Math.max(0, 250 - ms)));
  }
  await mock.reset();
  return took.sort((a, b) => a - b)[2];
}

/** Runs `body(mock)` against a mock of its own started with `args`, then stops it. */
export async function withMock(args, body) {
  const mock = await startMock(args);
  try {
    return await body(mock);
  } finally {
    mock.stop();
  }
}

/** A client on `url` with fast defaults for tests. */
export function client(url, options = {}) {
  return new pkg.MistralRatelimitClient({ apiKey: "test-key", serverURL: url, requestsPerSecond: 50, baseDelayMs: 50, maxDelayMs: 200, ...options });
}

export const chatRequest = (maxTokens = 8, content = "Hello") => ({
  model: "mistral-small-latest",
  messages: [{ role: "user", content }],
  max_tokens: maxTokens,
});

/** Every reservation ended: nothing in flight, nothing queued. */
export function assertSettled(assert, c) {
  const s = c.status();
  assert.equal(s.inFlight, 0, "a reservation was left in flight");
  assert.equal(s.queued, 0, "a call was left in the queue");
}

/**
 * Runs `body(url)` against a node:http server of its own whose requests
 * `handle(req, res)` answers (for pacing a reply as no mock does), then stops it.
 */
export async function withServer(handle, body) {
  const http = await import("node:http");
  const server = http.createServer((req, res) => {
    req.resume();
    handle(req, res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await body(`http://127.0.0.1:${server.address().port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
