// embeddings.createMany: any number of inputs embedded in requests that fit the
// API's per-request caps and the token lane, run at once through the client (its
// limiter paces them), failed batches retried, results in input order with one
// summed usage.
//
// Mistral documents no cap per request; 16,000 tokens per batch is what peer
// clients use (LangChain's MistralAIEmbeddings), and 512 inputs keeps a reply's
// size sane. A batch also never takes more than a quarter of the token lane, so
// several are in flight at once.
const MAX_TOKENS = 16_000;
const MAX_INPUTS = 512;
const BATCH_RETRIES = 2;
// Errors after which a batch is worth sending again.
const TRANSIENT = new Set(["RateLimitError", "ServerError", "ProtocolError", "ConnectionError", "TimeoutError"]);

/**
 * Embeds `request.input` with `embed(body, callOptions)` (the client's
 * embeddings.create). `count(text)` estimates an input's tokens, `tokenLane()`
 * gives the workspace's tokens per minute if known, `configError(message)` makes
 * the error for a bad request.
 */
export async function createMany({ embed, count, tokenLane, configError }, request, options = {}) {
  const { input: inputs, ...rest } = request ?? {};
  // `inputs` was this method's name for it before it took `input`, as create does.
  if ("inputs" in rest) throw configError("createMany takes its texts as `input` (as embeddings.create does), not `inputs`");
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.some((t) => typeof t !== "string")) {
    throw configError("createMany takes { model, input } with input a non-empty array of strings");
  }
  const { onProgress, signal, priority = "batch", maxInputsPerRequest = MAX_INPUTS, maxTokensPerRequest = MAX_TOKENS, ...extra } = options ?? {};
  if (Object.keys(extra).length) {
    throw configError(`unknown createMany option '${Object.keys(extra)[0]}': onProgress, signal, priority, maxInputsPerRequest, maxTokensPerRequest`);
  }
  for (const [name, value] of [["maxInputsPerRequest", maxInputsPerRequest], ["maxTokensPerRequest", maxTokensPerRequest]]) {
    if (!Number.isSafeInteger(value) || value < 1) throw configError(`${name} must be a whole number of at least 1`);
  }
  const lane = tokenLane();
  const tokenCap = Math.min(maxTokensPerRequest, lane ? Math.max(1, Math.floor(lane / 4)) : Infinity);
  const batches = split(inputs, count, maxInputsPerRequest, tokenCap);

  // A batch that fails for good stops the others.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort);
  const send = async (texts) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await embed({ ...rest, input: texts }, { signal: stop.signal, priority });
      } catch (e) {
        if (attempt >= BATCH_RETRIES || !TRANSIENT.has(e?.name)) throw e;
      }
    }
  };

  const data = new Array(inputs.length);
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let done = 0;
  let last;
  try {
    await Promise.all(
      batches.map(async ({ start, texts }) => {
        const reply = await send(texts).catch((e) => {
          stop.abort(e);
          throw e;
        });
        for (const item of reply.data) data[start + item.index] = { ...item, index: start + item.index };
        for (const key of Object.keys(usage)) usage[key] += reply.usage?.[key] ?? 0;
        done += texts.length;
        last = reply;
        onProgress?.({ done, total: inputs.length, tokens: usage.total_tokens });
      }),
    );
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return { id: last.id, object: "list", model: last.model, data, usage };
}

/** Consecutive runs of inputs, each within `maxInputs` inputs and `maxTokens` estimated tokens (an input alone may exceed it). */
function split(inputs, count, maxInputs, maxTokens) {
  const batches = [];
  let current = { start: 0, texts: [] };
  let tokens = 0;
  inputs.forEach((text, i) => {
    const cost = count(text);
    if (current.texts.length && (current.texts.length === maxInputs || tokens + cost > maxTokens)) {
      batches.push(current);
      current = { start: i, texts: [] };
      tokens = 0;
    }
    current.texts.push(text);
    tokens += cost;
  });
  if (current.texts.length) batches.push(current);
  return batches;
}
