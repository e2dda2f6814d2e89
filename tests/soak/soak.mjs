// A soak: many calls, some at a time, of every kind a user makes: plain, streamed
// to their end, streams aborted at a random event, streams left with `break`, and
// calls aborted at a random moment (often while queued). Imports nothing, so Node,
// Deno and a browser page run it as it is. Resolves once every call has ended,
// with how each ended, the slowest call's time, and `checkpoint()`'s figures
// taken after a tenth of the calls.
export async function soak(client, { calls, concurrency, seed = 1, checkpoint = () => null }) {
  let state = seed >>> 0 || 1;
  // xorshift32: the same mix for the same seed, in every runtime.
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const request = (i) => ({ model: "mistral-small-latest", messages: [{ role: "user", content: `soak ${i}` }], max_tokens: 8 });
  const outcomes = {};
  const count = (what) => (outcomes[what] = (outcomes[what] ?? 0) + 1);
  const aborted = (e) => {
    if (e?.name !== "AbortError") throw e;
  };
  let slowestMs = 0;
  let early = null;
  let next = 0;

  const one = async (i) => {
    const kind = random();
    const started = performance.now();
    try {
      if (kind < 0.4) {
        await client.chat.complete(request(i));
        count("plain");
      } else if (kind < 0.7) {
        for await (const _ of client.chat.stream(request(i)));
        count("streamed");
      } else if (kind < 0.8) {
        const stop = new AbortController();
        const at = Math.floor(random() * 4);
        let seen = 0;
        try {
          for await (const _ of client.chat.stream(request(i), { signal: stop.signal })) if (seen++ === at) stop.abort();
          count("stream ended before its abort");
        } catch (e) {
          aborted(e);
          count("stream aborted");
        }
      } else if (kind < 0.9) {
        for await (const _ of client.chat.stream(request(i))) break;
        count("stream left with break");
      } else {
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), random() * 20);
        try {
          await client.chat.complete(request(i), { signal: stop.signal });
          count("done before its abort");
        } catch (e) {
          aborted(e);
          count("aborted");
        } finally {
          clearTimeout(timer);
        }
      }
    } catch (e) {
      count(`failed: ${e?.name ?? e}`);
    }
    slowestMs = Math.max(slowestMs, performance.now() - started);
  };

  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const i = next++;
        await one(i);
        if (i === Math.floor(calls / 10)) early = await checkpoint();
      }
    }),
  );
  return { outcomes, slowestMs, seconds: (performance.now() - started) / 1000, early };
}
