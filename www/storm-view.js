// The storm panel: runs a storm through this client, then (after the window has
// cleared) the same storm through the naive client, and shows both as numbers
// and as timelines on one time scale.
import { clientStorm, naiveStorm } from "./storm.js";
import { drawTimeline } from "./timeline.js";

const MODEL = "mistral-small-latest";

export function watchStorm(client, root, settings) {
  const form = root.querySelector("form");
  // The naive storm is for a backend without a limiter of its own, as the mock;
  // through the proxy Worker it would meet the proxy's limiter.
  form.elements.naive.checked = new URL(settings.server).origin === location.origin;
  const status = root.querySelector("[role=status]");
  const results = root.querySelector("table");
  const canvases = { ours: document.getElementById("timeline-ours"), naive: document.getElementById("timeline-naive") };
  let last = null;
  const redraw = () => {
    if (!last) return;
    const span = Math.max(...Object.values(last).map((s) => s.makespanMs), 1);
    for (const [name, storm] of Object.entries(last)) drawTimeline(canvases[name], storm, span);
  };
  new ResizeObserver(redraw).observe(canvases.ours);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const plan = {
      calls: Number(f.calls.value),
      promptTokens: Number(f.promptTokens.value),
      maxTokens: Number(f.maxTokens.value),
      priority: f.priority.value,
      model: MODEL,
      requestsPerSecond: settings.rps,
      tokensPerMinute: settings.tpm,
    };
    f.run.disabled = true;
    root.setAttribute("aria-busy", "true");
    try {
      status.textContent = `${plan.calls} calls through this client…`;
      const ours = await clientStorm(client, plan);
      last = { ours };
      show(results, "ours", ours);
      redraw();
      if (f.naive.checked) {
        status.textContent = "Letting the windows clear…";
        await clear(client);
        status.textContent = `${plan.calls} calls through the naive client…`;
        last.naive = await naiveStorm(settings.server, "page-has-no-key", plan);
        show(results, "naive", last.naive);
        redraw();
      }
      status.textContent = `Done: ${summary("this client", ours)}${last.naive ? `; ${summary("the naive client", last.naive)}` : ""}.`;
    } catch (err) {
      status.textContent = `The storm failed: ${err.name}: ${err.message}`;
    } finally {
      f.run.disabled = false;
      root.setAttribute("aria-busy", "false");
    }
  });
}

function show(table, column, storm) {
  const cells = {
    refused: String(storm.refusals.length),
    completed: `${storm.completed} of ${storm.calls.length}`,
    makespan: `${(storm.makespanMs / 1000).toFixed(1)} s`,
    floor: `${(storm.floorMs / 1000).toFixed(1)} s`,
  };
  for (const [row, text] of Object.entries(cells)) table.querySelector(`[data-cell="${column}-${row}"]`).textContent = text;
}

function summary(who, storm) {
  return `${who} ${storm.completed} of ${storm.calls.length} in ${(storm.makespanMs / 1000).toFixed(1)} s with ${storm.refusals.length} 429s`;
}

/** Resolves once this client's lanes hold nothing, so the naive storm starts on an empty window. */
async function clear(client) {
  const pending = () => client.status().lanes.some((l) => l.unit === "requests" && l.windowMs <= 1000 && l.used > 0);
  while (pending()) await new Promise((resolve) => setTimeout(resolve, 200));
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
