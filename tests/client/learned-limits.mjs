// A workload against a mock that states no per-second limit (only
// `x-ratelimit-limit-req-minute`, as captures of the real API show) and no timing
// header, with the client configured `factor` times its real limits. Shared by
// tests/client/learned-limits.test.mjs and benches/learned-limits.mjs.
import { client, oracle, startMock } from "./helpers.mjs";

/** A prompt of about `tokens` tokens (four ASCII bytes each). */
const prompt = (tokens, i) => `${i} `.padEnd(tokens * 4, "lorem ipsum ");

/**
 * `n` calls at once (`stream`: chat streams, else conversations) against a mock
 * enforcing `rps` and `tpm`, with a client configured `factor` times either.
 * Resolves with what the mock charged and refused, the makespan against the
 * oracle's, and the client's lanes at the end.
 */
export async function learningRun({ rps, tpm, factor, n, stream, promptTokens = 30, maxTokens = 20 }) {
  const mock = await startMock([
    "--rps", String(rps), "--tpm", String(tpm),
    "--request-headers", "minute", "--timing-header", "off", "--latency-ms", "5-40",
  ]);
  try {
    const changes = [];
    const onEvent = (e) => e.type === "limit" && changes.push(e);
    const c = client(mock.url, { requestsPerSecond: rps * factor, tokensPerMinute: tpm * factor, timeoutMs: 600_000, maxRetries: 20, onEvent });
    const started = performance.now();
    const calls = Array.from({ length: n }, async (_, i) => {
      // Calls are made a few at a time, as a queue of work hands them out: the
      // event loop would otherwise be busy counting hundreds of prompts while
      // the first requests wait to be written, and they would reach the server
      // long after they left, beside the next window's.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(i / 2)));
      const text = prompt(promptTokens, i);
      if (!stream) {
        const r = await c.beta.conversations.start({ model: "mistral-small-latest", inputs: text, completion_args: { max_tokens: maxTokens } });
        return { total: r.usage.total_tokens, completion: r.usage.completion_tokens };
      }
      let usage;
      for await (const chunk of c.chat.stream({ model: "mistral-small-latest", messages: [{ role: "user", content: text }], max_tokens: maxTokens })) {
        usage = chunk.usage ?? usage;
      }
      return { total: usage.total_tokens, completion: usage.completion_tokens };
    });
    const costs = await Promise.all(calls);
    const ms = performance.now() - started;
    const stats = await mock.stats();
    const ideal = oracle(costs, { rps, tpm, serviceMs: 40, msPerOutputToken: 1000 / 5000 });
    return { calls: n, refused: stats.rate_limited, use: ideal / ms, ms, ideal, stats, status: c.status(), changes };
  } finally {
    mock.stop();
  }
}
