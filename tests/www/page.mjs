// The demo page (www/) in a real browser, served by the mock (`--www`) so that the
// page and its backend share an origin: it loads without errors, a reply streams
// and Stop aborts it, a storm meets no 429 through this client and many through
// the naive one, and two tabs share one budget (a cap on requests in flight too),
// also when the leader's tab closes. Screenshots after the storm go to target/www-screenshots/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { By, Key } from "selenium-webdriver";

import { withMock, withServer } from "../client/helpers.mjs";
import { BOUND, SLACK, STALLS } from "../client/stalls.mjs";
import { consoleErrors, launch, viewport } from "./browsers.mjs";

const RPS = 5;
const www = fileURLToPath(new URL(`../../${process.env.WWW_DIR ?? "target/www-dev"}/`, import.meta.url));
const screenshots = fileURLToPath(new URL("../../target/www-screenshots/", import.meta.url));

/** Registers the page's tests in browser `name`. */
export function pageSuite(name) {
  const withPage = (mockArgs, body) =>
    withMock(["--rps", String(RPS), "--www", www, ...mockArgs], async (mock) => {
      const driver = await launch(name);
      try {
        await body(driver, mock);
      } finally {
        await driver.quit();
      }
    });

  test(`${name}: the page loads without errors and says who shares its budget`, () =>
    withPage([], async (driver, mock) => {
      await open(driver, mock.url);
      assert.match(await text(driver, "#sharing"), /^This tab joins the budget "demo", shared with this site's other tabs, on its first call\.$/);
      assert.deepEqual(await problems(driver), []);
      assert.deepEqual(await consoleErrors(driver, name), []);
      for (const id of ["model", "prompt", "calls", "promptTokens", "maxTokens", "priority", "server", "rps", "tpm", "tabs"]) {
        const labels = await driver.findElements(By.css(`label[for="${id}"]`));
        assert.equal(labels.length, 1, `#${id} has a label`);
      }
      assert.deepEqual(await driver.executeScript(LOW_CONTRAST), [], "text below WCAG AA contrast");
    }));

  test(`${name}: a reply streams, Stop aborts it, and the conversation goes on`, () =>
    withPage(["--stream-tokens-per-second", "20"], async (driver, mock) => {
      await open(driver, mock.url);
      const prompt = await driver.findElement(By.id("prompt"));
      await prompt.sendKeys("Tell me about rate limits");
      await driver.findElement(By.name("send")).click();
      const reply = "#chat li.assistant:last-child";
      await driver.wait(async () => (await text(driver, `${reply} p`)).length > 0, 10_000, "no text streamed");
      assert.equal(await driver.findElement(By.name("stop")).isEnabled(), true);
      await driver.findElement(By.name("stop")).click();
      await driver.wait(async () => (await text(driver, `${reply} small`)) === "Stopped.", 5000, "Stop did not end the stream");
      const stopped = await text(driver, `${reply} p`);
      await idle(driver);
      assert.equal(await text(driver, `${reply} p`), stopped, "nothing arrives after Stop");

      // From the keyboard: Enter sends.
      await prompt.sendKeys("Go on", Key.ENTER);
      await driver.wait(async () => /^\d+ tokens in, \d+ out$/.test(await text(driver, `${reply} small`)), 30_000, "the second reply did not finish");
      assert.equal((await driver.findElements(By.css("#chat li"))).length, 4);
      const byRoute = (await mock.stats()).by_route;
      assert.equal(byRoute["POST /v1/conversations"]["200"], 1, "the first message starts a conversation");
      assert.equal(Object.entries(byRoute).filter(([route]) => /^POST \/v1\/conversations\/[^/]+$/.test(route)).length, 1, "the second appends to it");
      assert.deepEqual(await problems(driver), []);
    }));

  test(`${name}: every operation round-trips from the page`, () =>
    withPage([], async (driver, mock) => {
      await driver.get(`${mock.url}/?rps=50&tabs=`);
      await driver.wait(() => driver.executeScript("return globalThis.demo?.ready === true"), 10_000);
      const source = await readFile(new URL("../client/round-trips.mjs", import.meta.url), "utf8");
      await driver.manage().setTimeouts({ script: 60_000 });
      const result = await driver.executeAsyncScript(
        `const [source, done] = arguments;
         import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })))
           .then((m) => m.roundTrips(demo.client))
           .then((called) => {
             const c = demo.client;
             const groups = [c.chat, c.fim, c.agents, c.embeddings, c.classifiers, c.models, c.beta.agents, c.beta.conversations];
             done({ called, declared: groups.reduce((n, g) => n + Object.keys(g).length, 0) });
           }, (e) => done({ error: String(e) }));`,
        source,
      );
      assert.equal(result.error, undefined);
      assert.equal(result.called.length, result.declared, "every method of the client was called once");
      assert.deepEqual(await problems(driver), []);
    }));

  test(`${name}: a call stopped in each state ends in its typed error in time, holding nothing`, () =>
    withPage([], async (driver, mock) => {
      // The stalling server is another origin: it answers the page's preflights.
      const cors = (req, res) => {
        res.setHeader("access-control-allow-origin", req.headers.origin ?? "*");
        if (req.method !== "OPTIONS") return STALLS[req.url.split("/")[1]](res);
        res.setHeader("access-control-allow-headers", req.headers["access-control-request-headers"] ?? "*");
        res.setHeader("access-control-allow-methods", "GET, POST");
        res.writeHead(204).end();
      };
      await withServer(cors, async (url) => {
        await driver.get(`${mock.url}/?tabs=`);
        await driver.wait(() => driver.executeScript("return globalThis.demo?.ready === true"), 10_000);
        const source = await readFile(new URL("../client/stalls.mjs", import.meta.url), "utf8");
        await driver.manage().setTimeouts({ script: 60_000 });
        const results = await driver.executeAsyncScript(
          `const [source, url, done] = arguments;
           Promise.all([import("./pkg/index.js"), import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })))])
             .then(([pkg, m]) => m.stopEverywhere(pkg.MistralRatelimitClient, url))
             .then(done, (e) => done([{ name: "the run", want: "results", error: String(e) }]));`,
          source,
          url,
        );
        assert.equal(results.length, 10);
        for (const r of results) {
          assert.equal(r.error, r.want, r.name);
          assert.ok(r.took < BOUND + SLACK, `${r.name}: ended ${(r.took - BOUND).toFixed(0)} ms past its bound`);
          assert.deepEqual([r.inFlight, r.queued], [0, 0], `${r.name}: left something held`);
        }
      });
    }));

  test(`${name}: a storm of 60 calls meets no 429 through this client and many through the naive one`, () =>
    withPage(["--latency-ms", "50-300"], async (driver, mock) => {
      await open(driver, mock.url);
      await storm(driver, { calls: 60, naive: true });
      const results = await stormResults(driver);
      assert.deepEqual(results.ours, { refused: "0", completed: "60 of 60" });
      assert.equal(results.naive.completed, "60 of 60");
      const stats = await mock.stats();
      assert.ok(stats.rate_limited > 0, "the naive client met 429s");
      assert.equal(String(stats.rate_limited), results.naive.refused, "every 429 the server sent went to the naive client");
      assert.deepEqual(await problems(driver), []);

      await mkdir(screenshots, { recursive: true });
      const shot = async (file) => writeFile(`${screenshots}${name}-${file}.png`, await driver.takeScreenshot(), "base64");
      await driver.executeScript("scrollTo(0, 0)");
      await shot("1280x800");
      await driver.executeScript("document.getElementById('timelines').scrollIntoView()");
      await shot("1280x800-timelines");
      const phone = await viewport(driver, { width: 390, height: 844 });
      if (phone.width === 390) {
        await driver.executeScript("scrollTo(0, 0)");
        await shot("390x844");
        const { scrollWidth, clientWidth } = await driver.executeScript(
          "const e = document.documentElement; return { scrollWidth: e.scrollWidth, clientWidth: e.clientWidth }",
        );
        assert.ok(scrollWidth <= clientWidth, `the page is ${scrollWidth} px wide in a ${clientWidth} px viewport`);
      }
    }));

  test(`${name}: two tabs storming at once share one budget`, () =>
    withPage(["--latency-ms", "20-200"], async (driver, mock) => {
      const [a, b] = await openTabs(driver, mock.url);
      for (const tab of [a, b]) {
        await driver.switchTo().window(tab);
        await driver.executeScript(COUNT_HIDDEN);
        await storm(driver, { calls: 30, naive: false, wait: false });
      }
      const hidden = [];
      for (const tab of [a, b]) {
        await driver.switchTo().window(tab);
        assert.deepEqual((await stormResults(driver)).ours, { refused: "0", completed: "30 of 30" });
        hidden.push(await driver.executeScript("return hiddenSpells"));
      }
      // The second tab joined while the first held a lease (the first may have
      // finished before the second asked, so only the second must have seen both).
      assert.match(await text(driver, "#sharing"), /^2 tabs share the budget "demo"/);
      // Firefox hides the tab not shown, and throttles its timers.
      if (name === "firefox") assert.ok(hidden[0] > 0, "the first tab stormed hidden");
      const stats = await mock.stats();
      assert.equal(stats.requests, 60);
      assert.equal(stats.rate_limited, 0);
      assert.ok(stats.busiest_1s_admitted <= RPS, `${stats.busiest_1s_admitted} requests in one second`);
    }));

  test(`${name}: two tabs share a cap on requests in flight`, () =>
    withPage(["--max-in-flight", String(RPS), "--rps", "1000", "--stream-tokens-per-second", "100", "--latency-ms", "20-200"], async (driver, mock) => {
      const tabs = await openTabs(driver, mock.url);
      for (const tab of tabs) {
        await driver.switchTo().window(tab);
        await driver.executeScript(SLOTS_STORM);
      }
      for (const tab of tabs) {
        await driver.switchTo().window(tab);
        const { outcomes, slots } = await driver.executeAsyncScript("const done = arguments[arguments.length - 1]; slotsStorm.then(done, (e) => done({ outcomes: [String(e)] }))");
        assert.deepEqual(outcomes.filter((o) => o !== "ok"), []);
        assert.equal(slots?.limit, RPS, "the cap is a shared lane");
      }
      const stats = await mock.stats();
      assert.equal(stats.requests, 40);
      assert.equal(stats.rate_limited, 0);
      assert.ok(stats.busiest_in_flight <= RPS, `${stats.busiest_in_flight} in flight`);
    }));

  test(`${name}: the leader's tab closes mid-storm, and the other loses nothing`, () =>
    withPage(["--latency-ms", "20-200"], async (driver, mock) => {
      const [leader, other] = await openTabs(driver, mock.url);
      for (const tab of [leader, other]) {
        await driver.switchTo().window(tab);
        await storm(driver, { calls: 30, naive: false, wait: false });
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await driver.switchTo().window(leader);
      await driver.close();
      await driver.switchTo().window(other);
      assert.deepEqual((await stormResults(driver)).ours, { refused: "0", completed: "30 of 30" });
      const budget = await driver.executeScript("return demo.client.status().budget");
      assert.equal(budget.state, "shared");
      assert.equal(budget.failures, 0, "no ask went unanswered");
      const stats = await mock.stats();
      assert.equal(stats.rate_limited, 0);
      assert.ok(stats.busiest_1s_admitted <= RPS, `${stats.busiest_1s_admitted} requests in one second`);
    }));
}

/** Loads the page and waits for its client. */
async function open(driver, url) {
  await driver.get(`${url}/`);
  await driver.wait(() => driver.executeScript("return globalThis.demo?.ready === true"), 10_000, "the page's client never loaded");
}

/** Opens the page in two tabs; resolves with their handles. */
async function openTabs(driver, url) {
  await open(driver, url);
  const first = await driver.getWindowHandle();
  await driver.switchTo().newWindow("tab");
  await open(driver, url);
  return [first, await driver.getWindowHandle()];
}

/** Fills the storm's form and runs it; with `wait`, until it is done. */
async function storm(driver, { calls, naive, wait = true }) {
  const field = await driver.findElement(By.id("calls"));
  await field.clear();
  await field.sendKeys(String(calls));
  const box = await driver.findElement(By.name("naive"));
  if ((await box.isSelected()) !== naive) await box.click();
  await driver.findElement(By.name("run")).click();
  if (wait) await stormResults(driver);
}

/** Waits for the storm to be done; its results table, column by column. */
async function stormResults(driver) {
  await driver.wait(async () => (await text(driver, "#storm [role=status]")).startsWith("Done"), 180_000, "the storm never ended");
  const cell = (column, row) => text(driver, `[data-cell="${column}-${row}"]`);
  const column = async (c) => ({ refused: await cell(c, "refused"), completed: await cell(c, "completed") });
  return { ours: await column("ours"), naive: await column("naive") };
}

/** Waits until the page's client has nothing in flight or queued. */
async function idle(driver) {
  await driver.wait(() => driver.executeScript("const s = demo.client.status(); return s.inFlight === 0 && s.queued === 0"), 5000, "calls stayed in flight");
}

// A client of its own in this tab, reading the limit as requests in flight and
// sharing it with the other tabs: 20 streamed calls of up to 1.3 s at once.
const SLOTS_STORM = `
  window.slotsStorm = (async () => {
    const { MistralRatelimitClient } = await import(new URL("pkg/index.js", location.href).href);
    const client = new MistralRatelimitClient({
      apiKey: "page-has-no-key", dangerouslyAllowBrowser: true, serverURL: location.origin,
      requestsPerSecond: ${RPS}, requestLimit: "concurrency", maxRetries: 3, budget: { tabs: "slots" },
    });
    const one = async (i) => {
      let events = 0;
      const messages = [{ role: "user", content: "call " + i }];
      for await (const _ of client.chat.stream({ model: "mistral-small-latest", messages, max_tokens: 130 })) events++;
      return events > 0 ? "ok" : "empty";
    };
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => one(i).catch((e) => e.name + ": " + e.message)));
    return { outcomes, slots: client.status().budget.shares.find((s) => s.windowMs === 0) };
  })();
`;

// Counts the times the page is hidden from now on.
const COUNT_HIDDEN = `
  window.hiddenSpells = 0;
  document.addEventListener("visibilitychange", () => document.hidden && window.hiddenSpells++);`;

// Every element with text of its own whose colour against the background it
// shows through is under WCAG AA (4.5:1, or 3:1 for large text), as "tag: ratio".
const LOW_CONTRAST = `
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const e of document.body.querySelectorAll("*")) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || e.closest("[hidden]")) continue;
    const style = getComputedStyle(e);
    const [a, b] = [luminance(rgb(style.color)), luminance(background(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(e.tagName + ": " + ratio.toFixed(2));
  }
  return low;`;

const text = async (driver, selector) => (await driver.findElement(By.css(selector))).getAttribute("textContent");
const problems = async (driver) =>
  driver.executeScript("return [...document.querySelectorAll('#problems p')].map((p) => p.textContent)");
