// One call, plain or streamed, and its outcome as a word ("ok", or the error's
// name and message): what the tests that spread calls over processes and tabs
// count. Plain module, no imports: Node, Deno and browser pages load it alike.
export const request = (i, maxTokens = 8) => ({ model: "mistral-small-latest", messages: [{ role: "user", content: `call ${i}` }], max_tokens: maxTokens });

export async function outcome(client, i, streamed, maxTokens = 8) {
  try {
    if (!streamed) return (await client.chat.complete(request(i, maxTokens))).object === "chat.completion" ? "ok" : "odd";
    let events = 0;
    for await (const _ of client.chat.stream(request(i, maxTokens))) events++;
    return events > 0 ? "ok" : "empty";
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
}
