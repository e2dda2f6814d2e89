// examples/worker, run as its README runs it: `wrangler dev` against the mock.
// The proxy keeps the API key to itself, lets in only its token (an allowed
// origin adds CORS headers, nothing more), and passes streams through as they come.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { withMock } from "../client/helpers.mjs";

const root = new URL("../../", import.meta.url).pathname;
const pkg = join(root, process.env.MISTRAL_PKG ?? "target/pkg-dev");
const KEY = "sk-test-key-never-echoed";
const TOKEN = "proxy-token";
const ORIGIN = "https://app.example.com";

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// The example as `npm install` leaves it: the package under node_modules.
function install() {
  const dir = mkdtempSync(join(tmpdir(), "mistral-proxy-"));
  cpSync(join(root, "examples/worker"), dir, { recursive: true });
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(pkg, join(dir, "node_modules/mistral-ratelimit"));
  return dir;
}

async function withProxy(mock, body) {
  const port = await freePort();
  const dir = install();
  const state = join(dir, ".state");
  const vars = { UPSTREAM_URL: mock.url, MISTRAL_API_KEY: KEY, PROXY_TOKEN: TOKEN, ALLOWED_ORIGINS: ORIGIN, REQUESTS_PER_SECOND: "5" };
  const args = [
    "dev", "--local", "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(await freePort()), "--persist-to", state, "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: state };
  const child = spawn(join(root, "node_modules/.bin/wrangler"), args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || performance.now() > deadline) throw new Error(`wrangler dev did not start:\n${log}`);
      const up = await fetch(`${url}/budget`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return await body(url, () => log);
  } finally {
    process.kill(-child.pid, "SIGTERM");
  }
}

const chat = (stream = false) =>
  JSON.stringify({ model: "mistral-small-latest", messages: [{ role: "user", content: "Hello" }], max_tokens: 8, stream });
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

test("the example proxy Worker under wrangler dev: its token, plain and streamed, the key never out", () =>
  withMock(["--rps", "5"], (mock) =>
    withProxy(mock, async (url, log) => {
      const refused = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: chat() });
      assert.equal(refused.status, 401);

      const plain = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: auth, body: chat() });
      assert.equal(plain.status, 200, await plain.clone().text());
      assert.equal((await plain.json()).object, "chat.completion");

      const streamed = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: auth, body: chat(true) });
      assert.equal(streamed.headers.get("content-type"), "text/event-stream");
      const text = await streamed.text();
      assert.match(text, /^data: \{/);
      assert.ok(text.trimEnd().endsWith("data: [DONE]"), text.slice(-80));

      const wrong = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: auth, body: JSON.stringify({ model: "nope", messages: [] }) });
      assert.equal(wrong.status, 400);
      const error = await wrong.text();

      const budget = await (await fetch(`${url}/budget`, { headers: auth })).json();
      assert.equal(budget.client.budget.state, "shared");
      assert.equal(budget.object.holders, 1);
      for (const seen of [error, JSON.stringify(budget), text, log()]) assert.ok(!seen.includes(KEY), "the API key leaked");
      assert.equal((await mock.stats()).requests, 3);
    })));

// Issue 26: an allowed Origin used to stand in for the token, and any client can
// send one.
test("the example proxy Worker asks every call for its token: an allowed origin only adds CORS headers", () =>
  withMock(["--rps", "5"], (mock) =>
    withProxy(mock, async (url, log) => {
      const replies = [];
      const refusedWith = async (headers) => {
        const reply = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: chat() });
        const text = await reply.text();
        replies.push(text);
        assert.equal(reply.status, 401, text);
        assert.equal(reply.headers.get("www-authenticate"), "Bearer");
        const { error } = JSON.parse(text);
        assert.equal(error.code, "unauthorized");
        assert.match(error.message, /Authorization: Bearer <PROXY_TOKEN>/);
        return reply;
      };

      // A forged Origin without a token; the refusal is readable by a page there.
      const forged = await refusedWith({ origin: ORIGIN });
      assert.equal(forged.headers.get("access-control-allow-origin"), ORIGIN);
      // Wrong tokens: another of the same length, the right one with more after
      // it, and the right one without its scheme.
      await refusedWith({ origin: ORIGIN, authorization: `Bearer ${"x".repeat(TOKEN.length)}` });
      await refusedWith({ authorization: `Bearer ${TOKEN}-and-more` });
      await refusedWith({ authorization: TOKEN });
      const budget = await fetch(`${url}/budget`, { headers: { origin: ORIGIN } });
      assert.equal(budget.status, 401);
      replies.push(await budget.text());

      // A browser's preflight carries no credentials: answered without the token.
      const preflightHeaders = { "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" };
      const preflight = await fetch(`${url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: ORIGIN, ...preflightHeaders } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), ORIGIN);
      assert.match(preflight.headers.get("access-control-allow-methods"), /\bPOST\b/);
      assert.match(preflight.headers.get("access-control-allow-headers"), /\bauthorization\b/);
      const stranger = await fetch(`${url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: "https://elsewhere.example", ...preflightHeaders } });
      assert.equal(stranger.status, 403);
      assert.equal(stranger.headers.get("access-control-allow-origin"), null);

      assert.equal((await mock.stats()).requests, 0, "a refused call or a preflight reached Mistral");

      const fromPage = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { origin: ORIGIN, ...auth }, body: chat() });
      const text = await fromPage.text();
      assert.equal(fromPage.status, 200, text);
      assert.equal(JSON.parse(text).object, "chat.completion");
      assert.equal(fromPage.headers.get("access-control-allow-origin"), ORIGIN);
      assert.match(fromPage.headers.get("vary"), /\borigin\b/i);
      assert.equal((await mock.stats()).requests, 1);

      for (const seen of [...replies, log()]) {
        assert.ok(!seen.includes(KEY), "the API key leaked");
        assert.ok(!seen.includes(TOKEN), "the proxy's token was echoed");
      }
    })));
