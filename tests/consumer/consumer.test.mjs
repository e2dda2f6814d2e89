// The package as a new user meets it: `npm pack` of the built package, installed
// from the tarball into fresh projects (fixtures/), each used as its kind of user
// would: Node by import and by require, tsc --strict, Deno, a Vite and a webpack
// production build run in headless Chromium, and a Worker bundled by wrangler.
// Every program that runs makes a real call to the mock over HTTP. The pages'
// screenshots go to target/consumer-screenshots/; CONSUMER_KEEP=1 keeps the
// projects (their directory is printed).
import { mkdir, cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { By } from "selenium-webdriver";

import { consoleErrors, launch } from "../www/browsers.mjs";
import { deno, files, mockServing, run, succeeded, tool, workshop } from "./harness.mjs";

const mockUrl = process.env.MISTRAL_MOCK_URL;
const version = JSON.parse(await readFile(new URL(`../../${process.env.MISTRAL_PKG ?? "target/pkg-dev"}/package.json`, import.meta.url), "utf8")).version;
const screenshots = new URL("../../target/consumer-screenshots/", import.meta.url).pathname;

/** What the Node and Deno programs print: the version, a chat.complete reply, a count. */
function assertProgramOutput(stdout) {
  const out = JSON.parse(stdout);
  assert.equal(out.version, version);
  assert.equal(out.reply.object, "chat.completion");
  assert.equal(typeof out.reply.choices[0].message.content, "string");
  assert.ok(out.reply.choices[0].message.content.length > 0);
  assert.equal(out.reply.usage.prompt_tokens + out.reply.usage.completion_tokens, out.reply.usage.total_tokens);
  assert.ok(Number.isInteger(out.tokens) && out.tokens > 0, `countTokens gave ${out.tokens}`);
}

let shop;
let www; // the mock that serves the built pages

before(async () => {
  shop = await workshop();
  await mkdir(join(shop.root, "www"));
  www = await mockServing(join(shop.root, "www"));
});

after(async () => {
  www?.stop();
  if (!process.env.CONSUMER_KEEP) await shop?.remove();
  else console.log(`consumer projects kept in ${shop.root}`);
});

const builds = new Map();

/** A browser app's project built by `command` (once): its output. */
function built(name, command, args) {
  if (!builds.has(name)) builds.set(name, shop.project(name, ["page/app.js"]).then((dir) => run(tool(command), args, { cwd: dir })));
  return builds.get(name);
}

/** Builds a browser app's project, then loads it in headless Chromium from the mock. */
async function buildAndOpen(t, name, command, args) {
  const dir = await shop.project(name, ["page/app.js"]);
  succeeded(assert, await built(name, command, args), `${name} build`);
  const dist = join(dir, "dist");
  const assets = await files(dist);
  // Both wasm modules and the vocabulary, copied as assets from `new URL(..., import.meta.url)`.
  assert.equal(assets.filter((f) => f.endsWith(".wasm")).length, 2, `wasm files in ${name}'s dist: ${assets}`);
  assert.equal(assets.filter((f) => f.endsWith(".bin")).length, 1, `tekken.bin in ${name}'s dist: ${assets}`);
  await cp(dist, join(shop.root, "www", name), { recursive: true });

  const driver = await launch("chromium");
  try {
    await driver.get(`${www.url}/${name}/index.html`);
    const reply = await driver.findElement(By.id("reply"));
    await driver.wait(async () => (await reply.getAttribute("data-state")) !== null, 30_000, `${name}'s page never finished`);
    const text = await reply.getText();
    await mkdir(screenshots, { recursive: true });
    await writeFile(join(screenshots, `${name}.png`), await driver.takeScreenshot(), "base64");
    assert.equal(await reply.getAttribute("data-state"), "done", text);
    assert.match(text, new RegExp(`^mistral-ratelimit ${version.replaceAll(".", "\\.")}: \\S.* \\(\\d+ tokens counted\\)$`));
    assert.deepEqual(await consoleErrors(driver, "chromium"), []);
    t.diagnostic(`${name}: ${text}`);
  } finally {
    await driver.quit();
  }
}

describe("the packed tarball, installed as a user would", { concurrency: true }, () => {
  test("holds README.md, LICENSE, package.json, index.d.ts and the .wasm files", async () => {
    const listing = succeeded(assert, await run("tar", ["-tzf", shop.tarball]), "tar");
    const packed = listing.stdout.split("\n").filter(Boolean).map((p) => p.replace(/^package\//, ""));
    for (const name of ["README.md", "LICENSE", "package.json", "index.d.ts", "mistral_ratelimit_bg.wasm", "mistral_ratelimit_tekken_bg.wasm"]) {
      assert.ok(packed.includes(name), `${name} is not in the tarball: ${packed.join(", ")}`);
    }
  });

  test("Node: import in an ES module project calls the mock", async () => {
    const dir = await shop.project("node-esm");
    const result = succeeded(assert, await run(process.execPath, ["main.js"], { cwd: dir, env: { MISTRAL_MOCK_URL: mockUrl } }), "node main.js");
    assertProgramOutput(result.stdout);
    assert.equal(result.stderr, "", "nothing printed on stderr");
  });

  // The package is ESM only: require() works through Node's require(esm), on by default since Node 20.19 and 22.12.
  test(`Node ${process.version}: require in a CommonJS project calls the mock`, async () => {
    assert.equal(process.features.require_module, true, `Node ${process.version} cannot require() an ES module`);
    const dir = await shop.project("node-cjs");
    const result = succeeded(assert, await run(process.execPath, ["main.js"], { cwd: dir, env: { MISTRAL_MOCK_URL: mockUrl } }), "node main.js");
    assertProgramOutput(result.stdout);
    assert.equal(result.stderr, "", "nothing printed on stderr (no ExperimentalWarning)");
  });

  for (const resolution of ["nodenext", "bundler"]) {
    test(`tsc --strict with moduleResolution ${resolution} compiles the client, its events and errors`, async () => {
      const dir = await shop.project("typescript");
      succeeded(assert, await run(tool("tsc"), ["-p", `tsconfig.${resolution}.json`], { cwd: dir }), `tsc (${resolution})`);
    });
  }

  test("Deno: an npm: specifier from node_modules, type-checked, calls the mock", async () => {
    const dir = await shop.project("deno");
    const result = await run(deno, ["run", "--check", "--node-modules-dir=manual", "--allow-net=127.0.0.1", "--allow-env", "--allow-read", "main.ts"], {
      cwd: dir,
      env: { MISTRAL_MOCK_URL: mockUrl, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    });
    succeeded(assert, result, "deno run");
    assertProgramOutput(result.stdout);
  });

  test("Vite: a production build runs in headless Chromium and shows the reply", async (t) => {
    await buildAndOpen(t, "vite", "vite", ["build", "--base", "./"]);
  });

  test("webpack: a production build runs in headless Chromium and shows the reply", async (t) => {
    await buildAndOpen(t, "webpack", "webpack", ["--no-color"]);
  });

  test(
    "webpack: the build prints no 'Critical dependency' warning",
    async () => {
      const output = succeeded(assert, await built("webpack", "webpack", ["--no-color"]), "webpack build");
      const warnings = output.stdout.split("\n\n").filter((block) => block.includes("Critical dependency"));
      assert.deepEqual(warnings, []);
    },
  );

  test("wrangler deploy --dry-run bundles a Worker that runs in workerd and calls the mock", async (t) => {
    const dir = await shop.project("worker");
    const bundled = await run(tool("wrangler"), ["deploy", "--dry-run", "--outdir", "dist"], {
      cwd: dir,
      env: { WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
    });
    succeeded(assert, bundled, "wrangler deploy --dry-run");
    const size = bundled.stdout.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
    assert.ok(size, `no size in wrangler's output:\n${bundled.stdout}`);
    const gzipKiB = Number(size[2]);
    const report = `Worker bundle: ${size[1]} KiB, ${gzipKiB} KiB gzip (${(gzipKiB / 1024).toFixed(2)} MiB; Workers allow 3 MiB free, 10 MiB paid)`;
    t.diagnostic(report);
    assert.ok(gzipKiB < 10 * 1024, report);

    // The bundle as wrangler would upload it, with wrangler's module rules.
    const kinds = { ".js": "ESModule", ".wasm": "CompiledWasm", ".bin": "Data" };
    const dist = join(dir, "dist");
    const modules = (await files(dist))
      .filter((f) => kinds[f.slice(f.lastIndexOf("."))])
      .sort((a, b) => (a === "index.js" ? -1 : b === "index.js" ? 1 : 0))
      .map((f) => ({ type: kinds[f.slice(f.lastIndexOf("."))], path: join(dist, f) }));
    const mf = new Miniflare({
      modules,
      modulesRoot: dist,
      compatibilityDate: "2025-09-01",
      bindings: { MISTRAL_API_KEY: "consumer-key", MISTRAL_SERVER_URL: mockUrl },
      durableObjects: { MISTRAL_BUDGET: { className: "MistralBudget", useSQLite: true } },
    });
    try {
      const response = await mf.dispatchFetch("http://worker.test/");
      const body = await response.text();
      assert.equal(response.status, 200, body);
      const reply = JSON.parse(body);
      assert.equal(reply.object, "chat.completion");
      assert.ok(reply.choices[0].message.content.length > 0);
    } finally {
      await mf.dispose();
    }
  });
});
