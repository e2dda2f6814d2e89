// A hostile server against the package in headless Chromium, from a page that
// imports the package's `index.js` and scenarios.mjs: every scenario in a page of
// its own (its own wasm instance), a few at once. Exits 1 on any failure.
//
//   MISTRAL_PKG=target/pkg-hostile node tests/hostile/browser.mjs
//
// Starts the hostile server and a static server for the package and this folder,
// both on 127.0.0.1 (two origins, so the calls are cross-origin, CORS and all),
// and drives /usr/bin/chromium (CHROMIUM overrides) through playwright-core.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { SCENARIO_DEADLINE_MS, SCENARIOS, formatResult, pool } from "./scenarios.mjs";
import { startHostileServer } from "./server.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkgDir = join(root, process.env.MISTRAL_PKG ?? "target/pkg-dev");
const hereDir = fileURLToPath(new URL(".", import.meta.url));
// Pages at once: Chromium keeps at most 6 connections to one server.
const PAGES = 4;

const PAGE = `<!doctype html><meta charset="utf-8"><title>hostile</title>
<script type="module">
  import * as pkg from "/pkg/index.js";
  import { runScenario } from "/hostile/scenarios.mjs";
  window.hostile = { run: (name, baseURL) => runScenario(pkg, baseURL, name) };
</script>`;

// Where a key is readable by anyone who opens the page: the page itself, and a
// worker it starts. Each posts what constructing a client with a key did.
const GUARD = `<!doctype html><meta charset="utf-8"><title>guard</title>
<script type="module">
  import * as pkg from "/pkg/index.js";
  const attempt = (p) => { try { new p.MistralRatelimitClient({ apiKey: "k" }); return "constructed"; } catch (e) { return e.name; } };
  const worker = new Worker("/guard-worker.mjs", { type: "module" });
  window.guard = new Promise((resolve) => (worker.onmessage = (ev) => resolve({ page: attempt(pkg), worker: ev.data })));
</script>`;
const GUARD_WORKER = `import * as pkg from "/pkg/index.js";
try { new pkg.MistralRatelimitClient({ apiKey: "k" }); postMessage("constructed"); } catch (e) { postMessage(e.name); }`;

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

/** Serves the page, /pkg/ (the package) and /hostile/ (this folder's modules). */
async function startStatic() {
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file;
    const inline = { "/": ["text/html", PAGE], "/guard": ["text/html", GUARD], "/guard-worker.mjs": ["text/javascript", GUARD_WORKER] }[path];
    if (inline) {
      res.writeHead(200, { "content-type": inline[0] }).end(inline[1]);
      return;
    }
    if (path.startsWith("/pkg/")) file = normalize(join(pkgDir, path.slice(5)));
    else if (path.startsWith("/hostile/") && path.endsWith(".mjs")) file = normalize(join(hereDir, path.slice(9)));
    if (!file || !(file.startsWith(pkgDir) || file.startsWith(hereDir))) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}

const hostile = await startHostileServer();
const statics = await startStatic();
const profile = await mkdtemp(join(tmpdir(), "hostile-chromium-"));
let context;
let exitCode = 1;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  const started = performance.now();
  const results = await pool(SCENARIOS, PAGES, ({ name }) => inPage(name));
  const stats = hostile.stats();
  for (const r of results) console.log(formatResult(r, stats[r.name]));
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  console.log(
    `chromium: ${results.length - failed.length} of ${results.length} scenarios passed in ${((performance.now() - started) / 1000).toFixed(1)} s` +
      (failed.length ? `; failed: ${failed.join(", ")}` : ""),
  );
  const guard = await keyGuard();
  console.log(`chromium: a key in a page is ${guard.page}, in a worker ${guard.worker}`);
  const guarded = guard.page === "ConfigError" && guard.worker === "ConfigError";
  exitCode = failed.length || !guarded ? 1 : 0;
} catch (e) {
  console.error(`browser run failed: ${e?.stack ?? e}`);
} finally {
  await context?.close().catch(() => {});
  await hostile.close();
  await statics.close();
  await rm(profile, { recursive: true, force: true });
}
process.exit(exitCode);

/** What constructing a client with a key does in a page and in a worker it starts. */
async function keyGuard() {
  const page = await context.newPage();
  try {
    await page.goto(`${statics.url}/guard`);
    await page.waitForFunction(() => window.guard, null, { timeout: 20_000 });
    return await page.evaluate(() => window.guard);
  } finally {
    await page.close({ runBeforeUnload: false }).catch(() => {});
  }
}

/** Runs scenario `name` in a fresh page; a page that errors or stalls is a failure. */
async function inPage(name) {
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(`page error: ${e.name}: ${e.message.slice(0, 300)}`));
  page.on("crash", () => pageErrors.push("the page crashed"));
  let timer;
  try {
    await page.goto(`${statics.url}/`);
    await page.waitForFunction(() => window.hostile, null, { timeout: 20_000 });
    const deadline = new Promise((resolve) => {
      timer = setTimeout(
        () => resolve({ name, ok: false, failures: [`no result within ${SCENARIO_DEADLINE_MS / 1000} s: the page was stuck`], calls: [] }),
        SCENARIO_DEADLINE_MS,
      );
    });
    const result = await Promise.race([page.evaluate(([n, base]) => window.hostile.run(n, base), [name, hostile.url]), deadline]);
    if (pageErrors.length) {
      result.ok = false;
      result.failures.push(...pageErrors);
    }
    return result;
  } catch (e) {
    return { name, ok: false, failures: [`the page failed: ${String(e?.message ?? e).split("\n")[0]}`, ...pageErrors], calls: [] };
  } finally {
    clearTimeout(timer);
    await page.close({ runBeforeUnload: false }).catch(() => {});
  }
}
