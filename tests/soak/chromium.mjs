// The soak (soak.mjs) in headless Chromium: a page the mock serves (--www with
// the package under /pkg, as scripts/build/www.sh lays it out) runs it with the web
// entry. Exits 1 on any problem.
//
//   node tests/soak/chromium.mjs CALLS CONCURRENCY      (under scripts/run/with-mock.sh --www DIR)
import { readFile } from "node:fs/promises";

import { launch } from "../www/browsers.mjs";

const [calls = 5000, concurrency = 50] = process.argv.slice(2).map(Number);
const url = process.env.MISTRAL_MOCK_URL;
const source = await readFile(new URL("./soak.mjs", import.meta.url), "utf8");
const driver = await launch("chromium", ["--js-flags=--expose-gc"]);
let report;
try {
  await driver.get(`${url}/index.html`);
  await driver.manage().setTimeouts({ script: Math.max(300_000, calls * 10) });
  report = await driver.executeAsyncScript(
    `const [source, calls, concurrency, done] = arguments;
     const memory = () => {
       globalThis.gc?.();
       return { heapUsed: performance.memory?.usedJSHeapSize ?? null, rss: null };
     };
     Promise.all([import("/pkg/index.js"), import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })))])
       .then(([pkg, m]) => m.soakRun({ Client: pkg.MistralRatelimitClient, url: location.origin, calls, concurrency, memory, runtime: "chromium" }))
       .then(done, (e) => done({ lines: [], problems: [String(e)] }));`,
    source,
    calls,
    concurrency,
  );
} finally {
  await driver.quit();
}
console.log(report.lines.join("\n"));
if (report.problems.length) {
  console.error(`soak failed: ${report.problems.join("; ")}`);
  process.exit(1);
}
