// Tabs of one origin share a budget (`budget: { tabs }`), in headless Chromium:
// two tabs storming at once stay within the limit, and when the leader's tab
// closes mid-storm the other takes over and loses nothing. The page and the
// package are served by the mock itself (`--www`), so the calls are same-origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { withMock } from "../client/helpers.mjs";

const RPS = 5;
const pkgDir = fileURLToPath(new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/`, import.meta.url));

// A page whose client shares the budget "storm" with its origin's other tabs;
// `storm(n)` makes n calls at once (odd ones streamed) and resolves with each
// call's outcome.
const PAGE = `<!doctype html><meta charset="utf-8"><title>tab</title>
<script type="module">
  import { MistralRatelimitClient } from "/pkg/index.js";
  import { outcome } from "/outcome.mjs";
  const client = new MistralRatelimitClient({
    apiKey: "test-key", dangerouslyAllowBrowser: true, serverURL: location.origin,
    requestsPerSecond: ${RPS}, maxRetries: 3, budget: { tabs: "storm" },
  });
  window.storm = (n) => Promise.all(Array.from({ length: n }, (_, i) => outcome(client, i, i % 2 === 1)));
  window.budget = () => client.status().budget;
  window.ready = true;
</script>`;

async function withTabs(body) {
  const www = await mkdtemp(join(tmpdir(), "tabs-"));
  await writeFile(join(www, "index.html"), PAGE);
  await symlink(pkgDir, join(www, "pkg"));
  await symlink(fileURLToPath(new URL("../client/outcome.mjs", import.meta.url)), join(www, "outcome.mjs"));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    await withMock(["--rps", String(RPS), "--latency-ms", "20-200", "--www", www], async (mock) => {
      // One context: its pages are tabs of one profile, sharing storage and locks.
      const context = await browser.newContext();
      const errors = [];
      const open = async () => {
        const page = await context.newPage();
        page.on("pageerror", (e) => errors.push(e.message));
        await page.goto(`${mock.url}/index.html`);
        await page.waitForFunction(() => window.ready === true);
        return page;
      };
      await body(open, mock);
      assert.deepEqual(errors, []);
    });
  } finally {
    await browser.close();
    await rm(www, { recursive: true, force: true });
  }
}

test("two tabs storming at once share one budget: none lost, none refused, no second over the limit", () =>
  withTabs(async (open, mock) => {
    const [a, b] = [await open(), await open()];
    const outcomes = (await Promise.all([a.evaluate(() => window.storm(30)), b.evaluate(() => window.storm(30))])).flat();
    assert.deepEqual(outcomes.filter((o) => o !== "ok"), []);
    const stats = await mock.stats();
    assert.equal(stats.rate_limited, 0);
    assert.equal(stats.requests, 60);
    assert.ok(stats.busiest_1s_admitted <= RPS, `${stats.busiest_1s_admitted} requests in one second`);
    const budgets = [await a.evaluate(() => window.budget()), await b.evaluate(() => window.budget())];
    for (const budget of budgets) assert.equal(budget.state, "shared");
    assert.equal(budgets[1].holders, 2, "the page says how many tabs share the budget");
  }));

test("the leader's tab closes mid-storm: the other takes over and loses nothing", () =>
  withTabs(async (open, mock) => {
    const leader = await open();
    const other = await open();
    const leaderStorm = leader.evaluate(() => window.storm(30)).catch(() => "closed");
    const otherStorm = other.evaluate(() => window.storm(30));
    await new Promise((r) => setTimeout(r, 4000));
    const before = await other.evaluate(() => window.budget());
    await leader.close();
    assert.equal(await leaderStorm, "closed");
    const outcomes = await otherStorm;
    assert.deepEqual(outcomes.filter((o) => o !== "ok"), []);
    const after = await other.evaluate(() => window.budget());
    assert.ok(after.asks > before.asks, "it went on asking, now of itself");
    assert.equal(after.failures, 0, "no ask went unanswered");
    const stats = await mock.stats();
    assert.equal(stats.rate_limited, 0);
    assert.ok(stats.busiest_1s_admitted <= RPS, `${stats.busiest_1s_admitted} requests in one second`);
    assert.equal((await other.evaluate(() => window.budget())).state, "shared");
  }));
