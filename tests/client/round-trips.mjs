// Every operation once against the mock, with its wire-format body, checking the
// shape of each reply. Imports nothing, so a browser page runs it as it is
// (tests/www/page.mjs) as well as Node (operations.test.mjs). Resolves with the
// operations called, in order; throws at the first reply that is wrong.
export async function roundTrips(c) {
  const called = [];
  const check = (name, ok) => {
    if (!ok) throw new Error(`${name}: unexpected reply`);
    called.push(name);
  };
  const user = (content) => ({ role: "user", content });
  const text = async (stream) => {
    let all = "";
    for await (const chunk of stream) all += chunk.choices[0]?.delta?.content ?? "";
    return all;
  };

  check("chat.complete", (await c.chat.complete({ model: "mistral-small-latest", messages: [user("hi")], max_tokens: 8 })).usage.total_tokens > 0);
  check("chat.stream", (await text(c.chat.stream({ model: "mistral-small-latest", messages: [user("hi")], max_tokens: 8 }))).length > 0);
  check("fim.complete", (await c.fim.complete({ model: "codestral-latest", prompt: "def add(a, b):", suffix: "return c", max_tokens: 8 })).object === "chat.completion");
  check("fim.stream", (await text(c.fim.stream({ model: "codestral-latest", prompt: "fn main() {", max_tokens: 8 }))).length > 0);

  const agents = c.beta.agents;
  const agent = await agents.create({ model: "mistral-small-latest", name: "writer", instructions: "Be brief." });
  check("beta.agents.create", agent.version === 0 && agent.id.length > 0);
  check("agents.complete", (await c.agents.complete({ agent_id: agent.id, messages: [user("hi")], max_tokens: 8 })).choices.length === 1);
  check("agents.stream", (await text(c.agents.stream({ agent_id: agent.id, messages: [user("hi")], max_tokens: 8 }))).length > 0);
  check("beta.agents.list", (await agents.list({ page_size: 10 })).some((a) => a.id === agent.id));
  check("beta.agents.update", (await agents.update(agent.id, { instructions: "Be briefer." })).version === 1);
  check("beta.agents.get", (await agents.get(agent.id, { agent_version: 0 })).instructions === "Be brief.");
  check("beta.agents.listVersions", (await agents.listVersions(agent.id)).length === 2);
  check("beta.agents.getVersion", (await agents.getVersion(agent.id, 1)).instructions === "Be briefer.");
  check("beta.agents.updateVersion", (await agents.updateVersion(agent.id, 0)).version === 0);
  check("beta.agents.createVersionAlias", (await agents.createVersionAlias(agent.id, "stable", 1)).version === 1);
  check("beta.agents.listVersionAliases", (await agents.listVersionAliases(agent.id)).map((a) => a.alias).join() === "stable");
  check("beta.agents.deleteVersionAlias", (await agents.deleteVersionAlias(agent.id, "stable")) === undefined);
  check("beta.agents.delete", (await agents.delete(agent.id)) === undefined);

  const conversations = c.beta.conversations;
  const started = await conversations.start({ model: "mistral-small-latest", inputs: "hi", completion_args: { max_tokens: 8 } });
  const id = started.conversation_id;
  check("beta.conversations.start", started.outputs.length > 0);
  let events = 0;
  for await (const _ of conversations.startStream({ model: "mistral-small-latest", inputs: "hi", completion_args: { max_tokens: 8 } })) events++;
  check("beta.conversations.startStream", events > 0);
  check("beta.conversations.append", (await conversations.append(id, { inputs: "more", completion_args: { max_tokens: 8 } })).conversation_id === id);
  events = 0;
  for await (const _ of conversations.appendStream(id, { inputs: "more", completion_args: { max_tokens: 8 } })) events++;
  check("beta.conversations.appendStream", events > 0);
  const history = await conversations.getHistory(id);
  check("beta.conversations.getHistory", history.entries.length >= 4);
  check("beta.conversations.getMessages", (await conversations.getMessages(id)).messages.length >= 4);
  const from = history.entries[0].id;
  check("beta.conversations.restart", (await conversations.restart(id, { from_entry_id: from, inputs: "again", completion_args: { max_tokens: 8 } })).outputs.length > 0);
  events = 0;
  for await (const _ of conversations.restartStream(id, { from_entry_id: from, inputs: "again", completion_args: { max_tokens: 8 } })) events++;
  check("beta.conversations.restartStream", events > 0);
  check("beta.conversations.get", (await conversations.get(id)).id === id);
  check("beta.conversations.list", (await conversations.list({ page_size: 50 })).some((x) => x.id === id));
  check("beta.conversations.delete", (await conversations.delete(id)) === undefined);

  const embedded = await c.embeddings.create({ model: "mistral-embed", input: ["one", "two", "three"] });
  check("embeddings.create", embedded.data.map((d) => d.index).join() === "0,1,2" && embedded.usage.completion_tokens === 0);
  const many = await c.embeddings.createMany({ model: "mistral-embed", input: ["one", "two", "three"] }, { maxInputsPerRequest: 2 });
  check("embeddings.createMany", many.data.map((d) => d.index).join() === "0,1,2");
  check("classifiers.moderate", (await c.classifiers.moderate({ model: "mistral-moderation-latest", input: ["a", "b"] })).results.length === 2);
  const chat = [user("hi"), { role: "assistant", content: "hello" }];
  check("classifiers.moderateChat", (await c.classifiers.moderateChat({ model: "mistral-moderation-latest", input: chat })).results.length === 1);
  check("classifiers.classify", (await c.classifiers.classify({ model: "mistral-moderation-latest", input: "text" })).results.length === 1);
  check("classifiers.classifyChat", (await c.classifiers.classifyChat({ model: "mistral-moderation-latest", input: { messages: chat } })).results.length === 1);

  check("models.list", (await c.models.list()).data.some((m) => m.id === "mistral-small-2506"));
  check("models.retrieve", (await c.models.retrieve("mistral-small-latest")).object === "model");
  check("models.delete", (await c.models.delete("ft:open-mistral-7b:1a2b:20240101")).deleted === true);
  return called;
}
