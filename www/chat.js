// The chat: a conversation streamed through beta.conversations (startStream,
// then appendStream on the same conversation), a stop button that aborts the
// stream, and each reply's usage. Changing the model starts a new conversation.
export function watchChat(client, root) {
  const form = root.querySelector("form");
  const log = root.querySelector("ol");
  const model = form.elements.model;
  const prompt = form.elements.prompt;
  const send = form.elements.send;
  const stop = form.elements.stop;
  let conversation = null;
  let controller = null;

  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener("click", () => controller?.abort());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = prompt.value.trim();
    if (!text || controller) return;
    if (conversation?.model !== model.value) conversation = null;
    entry(log, "user", text);
    const reply = entry(log, "assistant", "");
    const usage = reply.appendChild(document.createElement("small"));
    prompt.value = "";
    controller = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    const options = { signal: controller.signal, priority: "interactive" };
    const conversations = client.beta.conversations;
    const stream = conversation
      ? conversations.appendStream(conversation.id, { inputs: text }, options)
      : conversations.startStream({ model: model.value, inputs: text }, options);
    const words = reply.querySelector("p");
    try {
      for await (const event of stream) {
        if (event.type === "conversation.response.started") conversation = { id: event.conversation_id, model: model.value };
        if (event.type === "message.output.delta") {
          words.textContent += textOf(event.content);
          log.scrollTop = log.scrollHeight;
        }
        if (event.type === "conversation.response.done") {
          const u = event.usage;
          usage.textContent = `${u.prompt_tokens} tokens in, ${u.completion_tokens} out`;
        }
        if (event.type === "conversation.response.error") usage.textContent = `Error ${event.code}: ${event.message}`;
      }
    } catch (err) {
      usage.textContent = err.name === "AbortError" ? "Stopped." : `${err.name}: ${err.message}`;
      reply.classList.add(err.name === "AbortError" ? "stopped" : "failed");
    } finally {
      controller = null;
      send.disabled = false;
      stop.disabled = true;
      reply.setAttribute("aria-busy", "false");
    }
  });
}

function entry(log, role, text) {
  const item = log.appendChild(document.createElement("li"));
  item.className = role;
  item.setAttribute("aria-busy", role === "assistant" ? "true" : "false");
  const who = item.appendChild(document.createElement("strong"));
  who.textContent = role === "user" ? "You" : "Mistral";
  item.appendChild(document.createElement("p")).textContent = text;
  log.scrollTop = log.scrollHeight;
  return item;
}

/** A delta's text: a string, or a chunk whose text is in `text`. */
function textOf(content) {
  return typeof content === "string" ? content : typeof content?.text === "string" ? content.text : "";
}
