// The budget table: how much of a workspace's limits each way of calling Mistral
// actually uses, what it costs in 429s and lost calls, and whether it ever puts more
// in a window than the limit allows. Run against the mock:
//
//   MISTRAL_PKG=pkg scripts/run/with-mock.sh -- node benches/budget.mjs
//
// Rows are contender × the mock's limit algorithm × workload. Each run gets a mock
// of its own (always `--timing-header off` and `--latency-ms 20-200`, so nothing
// relies on envoy's timing header), measures that mock's service time, resets it,
// waits a random fraction of a second (the phase of the mock's windows at which the
// storm starts), then fires every call of the workload at once.
//
//   budget use  the oracle's makespan / the contender's. The oracle knows each
//               call's true cost (its reported usage) and sends the calls, in
//               order, each at the earliest instant both sliding windows allow,
//               plus the service time measured before the storm. A bucket or
//               fixed-window server admits more than a sliding window does, so a
//               contender that bursts into it can pass 100% there.
//   429s        `rate_limited` from the mock's /__mock/stats.
//   lost        calls whose promise rejected, for any reason. Lost calls are left
//               out of the oracle's work, so losing them never flatters a row.
//   peak 1 s    the most requests that arrived in any 1 s (429s included), and the
//               most the server admitted in any 1 s, against the rps limit.
//   peak 60 s   the most tokens charged in any 60 s, against the tpm limit.
//
// Progress goes to stderr, the Markdown table to stdout. Environment:
//   MISTRAL_PKG       the package directory (target/pkg-dev)
//   MISTRAL_MOCK_BIN  the mock (set by with-mock.sh)
//   BUDGET_PARALLEL   runs at once, each with its own mock (3: the three algorithms
//                     of one contender and workload side by side; 1 = one at a time)
//   BUDGET_ONLY       a substring: run only the rows whose "contender workload" has it
//   BUDGET_MOCK_ARGS  more mock flags, after (so overriding) the ones above, e.g.
//                     "--timing-header on" to see what the header is worth
import { oracle, serviceTime, startMock as startMockOf } from "../tests/client/helpers.mjs";
import { contenders } from "./contenders.mjs";
const PARALLEL = Math.max(1, Number(process.env.BUDGET_PARALLEL ?? 3));
const ONLY = process.env.BUDGET_ONLY ?? "";
const EXTRA_MOCK_ARGS = (process.env.BUDGET_MOCK_ARGS ?? "").split(/\s+/).filter(Boolean);
const TOKENS_PER_SECOND = 5000;
const log = (...a) => console.error(...a);

/** A mock of this table's kind: no timing header, 20-200 ms of latency. */
const startMock = (args) =>
  startMockOf([
    "--timing-header", "off", "--latency-ms", "20-200",
    "--stream-tokens-per-second", String(TOKENS_PER_SECOND), ...args, ...EXTRA_MOCK_ARGS,
  ]);

// ---- workloads: 60 calls each -------------------------------------------------

const N = 60;
const small = (i) => ({ model: "mistral-small-latest", messages: [{ role: "user", content: `Say hello to caller ${i}.` }], max_tokens: 16 });
/** A prompt of 100-1400 tokens (four ASCII bytes each) and max_tokens 20-300. */
const large = (i) => ({
  model: "mistral-small-latest",
  messages: [{ role: "user", content: `${i} `.padEnd((100 + ((i * 137) % 1300)) * 4, "lorem ipsum ") }],
  max_tokens: 20 + ((i * 53) % 281),
});
// About 52k tokens in all: 1.75 minutes of budget at 30k tpm, so the oracle needs a
// minute's window to roll over once (about 61 s).
const TOKEN_TPM = 30_000;
const workloads = [
  { name: "request-bound plain", rps: 5, tpm: 10_000_000, body: small, stream: false },
  { name: "request-bound streamed", rps: 5, tpm: 10_000_000, body: small, stream: true },
  { name: "token-bound plain", rps: 50, tpm: TOKEN_TPM, body: large, stream: false },
  { name: "token-bound streamed", rps: 50, tpm: TOKEN_TPM, body: large, stream: true, only: ["mistral-ratelimit"] },
];

// ---- runs ----------------------------------------------------------------------

async function run(contender, algorithm, w) {
  const mock = await startMock(["--limit-algorithm", algorithm, "--rps", String(w.rps), "--tpm", String(w.tpm)]);
  try {
    const serviceMs = await serviceTime(mock);
    // The reset restarted the mock's windows. Start the storm at a random phase of
    // them, so that a pacer whose one-second interval starts with the storm is not
    // lined up with a fixed window's boundaries by construction.
    const phaseMs = Math.random() * 1000;
    await new Promise((res) => setTimeout(res, phaseMs));
    const call = contender.make(mock.url, w);
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => call(w.body(i), w.stream)));
    const ms = performance.now() - t0;
    const stats = await mock.stats();
    const ok = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const lost = results.filter((r) => r.status === "rejected");
    const ideal = oracle(ok, { rps: w.rps, tpm: w.tpm, serviceMs, msPerOutputToken: 1000 / TOKENS_PER_SECOND });
    const row = { contender: contender.name, algorithm, workload: w.name, w, ms, ideal, serviceMs, stats, lost: lost.length };
    log(
      `  ${contender.name} | ${algorithm} | ${w.name}: ${(ms / 1000).toFixed(1)} s (ideal ${(ideal / 1000).toFixed(1)} s, ` +
        `service ${serviceMs.toFixed(0)} ms, phase ${phaseMs.toFixed(0)} ms), 429s ${stats.rate_limited}, lost ${lost.length}` +
        (lost.length ? ` (first: ${lost[0].reason?.name}: ${String(lost[0].reason?.message).slice(0, 160)})` : ""),
    );
    return row;
  } finally {
    mock.stop();
  }
}

/** Runs `jobs` (functions returning promises) at most `n` at a time, in order. */
async function pool(jobs, n) {
  const out = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

const algorithms = ["sliding", "bucket", "fixed"];
const jobs = [];
for (const w of workloads) {
  for (const c of contenders) {
    if (w.only && !w.only.includes(c.name)) continue;
    if (!`${c.name} ${w.name}`.includes(ONLY)) continue;
    for (const a of algorithms) jobs.push(() => run(c, a, w));
  }
}
const started = performance.now();
log(`budget table: ${jobs.length} runs of ${N} calls, ${PARALLEL} at a time; package ${process.env.MISTRAL_PKG ?? "target/pkg-dev"}`);
const rows = await pool(jobs, PARALLEL);
log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);

const pct = (x) => `${(100 * x).toFixed(0)}%`;
const over = (used, limit) => (used > limit ? `**${pct(used / limit)}**` : pct(used / limit));
const lines = [
  "| contender | server | workload | budget use | 429s | lost | peak 1 s: arrived, admitted / rps | peak 60 s tokens / tpm | makespan (ideal) |",
  "|---|---|---|--:|--:|--:|--:|--:|--:|",
];
for (const r of rows) {
  const s = r.stats;
  lines.push(
    `| ${r.contender} | ${r.algorithm} | ${r.workload} | ${pct(r.ideal / r.ms)} | ${s.rate_limited} | ${r.lost}/${N} | ` +
      `${s.busiest_1s_requests}, ${s.busiest_1s_admitted} / ${r.w.rps} (${over(s.busiest_1s_requests, r.w.rps)}) | ` +
      `${s.busiest_60s_tokens.toLocaleString("en-US")} / ${r.w.tpm.toLocaleString("en-US")} (${over(s.busiest_60s_tokens, r.w.tpm)}) | ` +
      `${(r.ms / 1000).toFixed(1)} s (${(r.ideal / 1000).toFixed(1)} s) |`,
  );
}
console.log(lines.join("\n"));
console.log(
  `\n${N} calls at once per run. Mock: \`--timing-header off --latency-ms 20-200 --stream-tokens-per-second ${TOKENS_PER_SECOND}\`; ` +
    `request-bound at 5 rps (tpm 10,000,000, never binding), token-bound at 50 rps and ${TOKEN_TPM.toLocaleString("en-US")} tpm ` +
    `(prompts 100-1,400 tokens, max_tokens 20-300). Ideal: the sliding-window oracle with the true costs. ` +
    `Peaks: requests that arrived (429s included) and that were admitted in any 1 s; tokens charged in any 60 s, ` +
    `prompts on admission and replies as generated; bold is over the limit (by arrivals for requests). ` +
    `A sliding server checks only the prompt on admission, so replies can carry a 60 s window past the tpm.`,
);
