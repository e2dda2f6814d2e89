// Limits no header states, learned from 429s: the built package against mocks
// that state only a per-minute request limit, with the client configured too high.
import { test } from "node:test";
import assert from "node:assert/strict";

import { learningRun } from "./learned-limits.mjs";

const line = (r) => `${r.refused} 429s in ${r.calls} calls, budget use ${r.use.toFixed(3)} (${(r.ms / 1000).toFixed(1)} s, oracle ${(r.ideal / 1000).toFixed(1)} s)`;

test("configured at twice the request limit, plain and streamed: at most 2% 429s, 0.9 of the budget used", async () => {
  // The first burst meets the excess (10 429s here) before any reply can say
  // so; then a failed probe costs one, ever more rarely. 80 s of calls each.
  // Beside a client configured right: benches/learned-limits.mjs.
  const runs = await Promise.all([false, true].map((stream) => learningRun({ rps: 10, tpm: 10_000_000, factor: 2, n: 800, stream })));
  for (const [r, stream] of runs.map((r, i) => [r, i === 1])) {
    console.log(`${stream ? "streamed" : "plain"}, twice too high: ${line(r)}`);
    assert.ok(r.refused <= 0.02 * r.calls, `${r.refused} 429s in ${r.calls} calls`);
    assert.ok(r.use >= 0.9, `budget use ${r.use.toFixed(3)}`);
    const lane = r.status.lanes.find((l) => l.name === "requests/1s");
    assert.equal(lane.source, "429");
    assert.ok(lane.limit >= 9 && lane.limit <= 11, `learned ${lane.limit}`);
    assert.deepEqual([r.changes[0].cause, r.changes[0].configured], ["429", 20]);
    assert.ok(r.stats.busiest_1s_admitted <= 10);
    assert.equal(r.status.inFlight + r.status.queued, 0);
  }
});

test("configured at twice the token limit: the first burst spends half, until a reply states the limit", async () => {
  // About 150 tokens a call against 6,000 a minute: the first minute's burst is
  // the one that matters, and the run ends with it.
  const r = await learningRun({ rps: 100, tpm: 6_000, factor: 2, n: 40, stream: false, promptTokens: 100, maxTokens: 50 });
  assert.equal(r.refused, 0, `${r.refused} 429s`);
  const lane = r.status.lanes.find((l) => l.name === "tokens/60s");
  assert.equal(lane.limit, 6_000);
  assert.equal(lane.source, "header");
});
