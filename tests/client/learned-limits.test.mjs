// Limits no header states, learned from 429s: the built package against mocks
// that state only a per-minute request limit, with the client configured too high.
import { test } from "node:test";
import assert from "node:assert/strict";

import { learningRun } from "./learned-limits.mjs";

const line = (r) => `${r.refused} 429s in ${r.calls} calls, budget use ${r.use.toFixed(3)} (${(r.ms / 1000).toFixed(1)} s, oracle ${(r.ideal / 1000).toFixed(1)} s)`;

test("configured at twice the request limit, plain and streamed: at most 2% 429s, 0.9 of the budget used", async () => {
  // Before any reply can say so, the start at half and its rise meet a few 429s;
  // then a failed probe costs one, ever more rarely. 50 s of calls each, one
  // after the other: clients sharing an event loop make each other's requests
  // late, which reads as bunching. Beside a client configured right:
  // benches/learned-limits.mjs.
  for (const stream of [false, true]) {
    const r = await learningRun({ rps: 20, tpm: 10_000_000, factor: 2, n: 1000, stream });
    console.log(`${stream ? "streamed" : "plain"}, twice too high: ${line(r)}`);
    assert.ok(r.refused <= 0.02 * r.calls, `${r.refused} 429s in ${r.calls} calls`);
    assert.ok(r.use >= 0.9, `budget use ${r.use.toFixed(3)}`);
    const lane = r.status.lanes.find((l) => l.name === "requests/1s");
    assert.equal(lane.source, "429");
    assert.ok(lane.limit >= 18 && lane.limit <= 22, `learned ${lane.limit}`);
    assert.deepEqual([r.changes[0].cause, r.changes[0].configured], ["429", 40]);
    assert.ok(r.stats.busiest_1s_admitted <= 20);
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
