// From a cold start: a client's first storm, where starting costs most. Each run
// gets a fresh mock and a fresh client (or SDK, or pacer) and fires every call
// at once, plain and streamed:
//   - the demo's mock (`make demo`: 5 requests/s, 60,000 tokens/min, 100-600 ms
//     of latency, 40 tokens/s), 40 calls of the demo's storm;
//   - a mock whose latency varies (60-180 ms) and that sends no timing header,
//     5 requests/s, 60 small calls;
//   - this client configured twice too high, 60 calls (learned from 429s, see
//     tests/client/learned-limits.mjs).
//
//   MISTRAL_PKG=pkg MOCK_PROFILE=release scripts/run/with-mock.sh -- node benches/cold-start.mjs
//
//   floor    when the limits let the last call start (www/storm.js `idealMs`)
//   oracle   the sliding-window oracle's makespan: the floor's schedule plus each
//            call's own time (the mock's service time, measured before the storm,
//            and its output at the mock's generation speed)
//   use      oracle / makespan
import { learningRun } from "../tests/client/learned-limits.mjs";
import { oracle, serviceTime, startMock } from "../tests/client/helpers.mjs";
import { idealMs, stormBody } from "../www/storm.js";
import { contenders, ours } from "./contenders.mjs";

const log = (...a) => console.error(...a);

const storm = { promptTokens: 200, maxTokens: 50, model: "mistral-small-latest" };
const servers = [
  {
    name: "demo's mock, 100-600 ms",
    rps: 5, tpm: 60_000, tokensPerSecond: 40, calls: 40,
    args: ["--latency-ms", "100-600"],
    body: (i) => stormBody(i, storm),
  },
  {
    name: "60-180 ms, no timing header",
    rps: 5, tpm: 10_000_000, tokensPerSecond: 5000, calls: 60,
    args: ["--latency-ms", "60-180", "--timing-header", "off"],
    body: (i) => ({ model: "mistral-small-latest", messages: [{ role: "user", content: `Say hello to caller ${i}.` }], max_tokens: 16 }),
  },
];

async function run(contender, server, stream) {
  const mock = await startMock([
    "--rps", String(server.rps), "--tpm", String(server.tpm),
    "--stream-tokens-per-second", String(server.tokensPerSecond), ...server.args,
  ]);
  try {
    const serviceMs = await serviceTime(mock);
    const call = contender.make(mock.url, server);
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: server.calls }, (_, i) => call(server.body(i), stream)));
    const ms = performance.now() - t0;
    const stats = await mock.stats();
    const ok = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const tokens = ok.reduce((n, c) => n + c.total, 0);
    const floor = idealMs({ calls: ok.length, requestsPerSecond: server.rps, tokensPerMinute: server.tpm }, tokens);
    const ideal = oracle(ok, { rps: server.rps, tpm: server.tpm, serviceMs, msPerOutputToken: 1000 / server.tokensPerSecond });
    return { refused: stats.rate_limited, lost: server.calls - ok.length, ms, floor, ideal };
  } finally {
    mock.stop();
  }
}

const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const lines = [
  "| server | calls | contender | 429s | lost | makespan | floor | oracle | use |",
  "|---|---|---|--:|--:|--:|--:|--:|--:|",
];
for (const server of servers) {
  for (const stream of [false, true]) {
    for (const c of contenders) {
      log(`${server.name}, ${stream ? "streamed" : "plain"}: ${c.name}...`);
      const r = await run(c, server, stream);
      lines.push(
        `| ${server.name} | ${server.calls} ${stream ? "streamed" : "plain"} | ${c.name} | ${r.refused} | ${r.lost} | ` +
          `${s(r.ms)} | ${s(r.floor)} | ${s(r.ideal)} | ${(r.ideal / r.ms).toFixed(3)} |`,
      );
    }
  }
}
for (const stream of [false, true]) {
  log(`twice too high, ${stream ? "streamed" : "plain"}...`);
  const r = await learningRun({ rps: 5, tpm: 10_000_000, factor: 2, n: 60, stream });
  lines.push(
    `| 5 requests/s stated per minute only, 5-40 ms, configured at 10 | 60 ${stream ? "streamed" : "plain"} | ${ours.name} | ${r.refused} | 0 | ` +
      `${s(r.ms)} | ${s((Math.ceil(60 / 5) - 1) * 1000)} | ${s(r.ideal)} | ${r.use.toFixed(3)} |`,
  );
}
console.log(lines.join("\n"));
