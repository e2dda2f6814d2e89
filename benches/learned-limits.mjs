// Limits no header states (run by `make bench` through with-mock.sh): the built
// package against mocks that state only a per-minute request limit and no timing
// header, with the client configured right, twice and ten times too high. Runs go
// one after another, each against a mock of its own: clients sharing one event
// loop make each other's requests late, which reads as bunching.
import { learningRun } from "../tests/client/learned-limits.mjs";

const row = (label, r) =>
  `| ${label} | ${r.calls} | ${r.refused} (${((100 * r.refused) / r.calls).toFixed(1)}%) | ${r.use.toFixed(3)} | ${(r.ms / 1000).toFixed(1)} s | ${(r.ideal / 1000).toFixed(1)} s |`;
const header = "| run | calls | 429s | budget use | makespan | oracle |\n|---|---|---|---|---|---|";

async function table(title, runs) {
  console.log(`\n== ${title}\n${header}`);
  for (const { label, args } of runs) console.log(row(label, await learningRun(args)));
}

const factors = [1, 2, 10];
const configured = (f) => (f === 1 ? "configured right" : `configured ${f}x too high`);

// Request-bound: 10 requests a second, 800 calls (80 s at the real limit).
for (const stream of [false, true]) {
  await table(
    `request-bound, ${stream ? "streamed" : "plain"}: mock at 10 requests/s`,
    factors.map((f) => ({ label: configured(f), args: { rps: 10, tpm: 100_000_000, factor: f, n: 800, stream } })),
  );
}

// Token-bound: 6,000 tokens a minute, calls of about 150 (prompt 100, max_tokens
// 50): 120 calls, two minutes at the real limit.
await table(
  "token-bound: mock at 6,000 tokens/min",
  [false, true].flatMap((stream) =>
    [1, 2].map((f) => ({
      label: `${configured(f)}, ${stream ? "streamed" : "plain"}`,
      args: { rps: 100, tpm: 6_000, factor: f, n: 120, stream, promptTokens: 100, maxTokens: 50 },
    })),
  ),
);
