// Requests in flight: streamed calls of about a second against a mock that caps
// requests in flight (`--max-in-flight`, arrivals unlimited) or one that counts
// arrivals per second, with the client reading `requestsPerSecond` as
// `requestLimit` says. Shared by tests/client/in-flight.test.mjs and
// benches/in-flight.mjs.
import { client, startMock } from "./helpers.mjs";

/**
 * `n` streamed chat calls (each 0.65 to 1.3 s of output) against a mock with the
 * limit `server` ("in-flight" or "rate") at `limit`, and a client configured
 * `requestsPerSecond: limit` with `requestLimit`. Resolves with the 429s the mock
 * sent, the share of the run it had `limit` in flight, the makespan, the
 * client's status at the end and its `limit` events.
 */
export async function inFlightRun({ server, requestLimit, n, limit = 5 }) {
  const enforced = server === "in-flight" ? ["--max-in-flight", String(limit), "--rps", "1000"] : ["--rps", String(limit)];
  const mock = await startMock([
    ...enforced, "--tpm", "100000000", "--stream-tokens-per-second", "100",
    "--request-headers", "minute", "--timing-header", "off", "--latency-ms", "5-40",
  ]);
  try {
    const changes = [];
    const onEvent = (e) => e.type === "limit" && changes.push(e);
    const c = client(mock.url, { requestsPerSecond: limit, requestLimit, timeoutMs: 600_000, maxRetries: 20, onEvent });
    const started = performance.now();
    const calls = Array.from({ length: n }, async (_, i) => {
      // Handed out a few at a time, as a queue of work would (see learned-limits.mjs).
      await new Promise((resolve) => setTimeout(resolve, Math.floor(i / 2)));
      let chunks = 0;
      const messages = [{ role: "user", content: `call ${i}: tell a short story` }];
      for await (const _ of c.chat.stream({ model: "mistral-small-latest", messages, max_tokens: 130 })) chunks++;
      return chunks;
    });
    const chunks = await Promise.all(calls);
    const ms = performance.now() - started;
    const stats = await mock.stats();
    const total = stats.in_flight_ms.reduce((a, b) => a + b, 0);
    return {
      calls: n,
      streamed: chunks.filter((k) => k > 0).length,
      refused: stats.rate_limited,
      atLimit: (stats.in_flight_ms[limit] ?? 0) / total,
      busiest: stats.busiest_in_flight,
      ms,
      status: c.status(),
      changes,
    };
  } finally {
    mock.stop();
  }
}
