// Live lanes: the client's status() sampled four times a second, drawn as the last
// three minutes of requests in the last second and tokens in the last minute
// (against the limit, and this tab's share when tabs share the budget), queue
// depth and calls in flight, with a red tick for each 429. The numbers beside the
// chart say the same in text. With prefers-reduced-motion the chart redraws
// every 2 s instead of scrolling.
import { COLORS, compact, context, frame, yOf } from "./canvas.js";

const SPAN_MS = 180_000;
const SAMPLE_MS = 250;
const CALM_REDRAW_MS = 2000;
const LABELS = 44;

/** Starts sampling `client` into the chart `canvas` and the readout's `[data-value]` cells. */
export function watchLanes(client, canvas, readout) {
  const samples = [];
  const refusals = [];
  client.on((event) => event.type === "rate-limited" && refusals.push(performance.now()));
  const calm = matchMedia("(prefers-reduced-motion: reduce)");
  let drawnAt = -Infinity;
  const tick = () => {
    const now = performance.now();
    const status = client.status();
    samples.push(sample(status, now));
    while (samples.length && samples[0].at < now - SPAN_MS) samples.shift();
    while (refusals.length && refusals[0] < now - SPAN_MS) refusals.shift();
    show(readout, samples.at(-1), status.counters.rateLimited);
    if (!calm.matches || now - drawnAt >= CALM_REDRAW_MS) {
      draw(canvas, samples, refusals, now);
      drawnAt = now;
    }
  };
  tick();
  setInterval(tick, SAMPLE_MS);
  new ResizeObserver(() => draw(canvas, samples, refusals, performance.now())).observe(canvas);
}

/** The workspace lane of `unit` over `windowMs`, else the first of that unit. */
function lane(status, unit, windowMs) {
  const lanes = status.lanes.filter((l) => l.unit === unit && l.model === null);
  return lanes.find((l) => l.windowMs === windowMs) ?? lanes[0];
}

function sample(status, at) {
  const reading = (lane, windowMs) => ({ used: lane?.used ?? 0, limit: lane?.limit ?? 0, share: lane?.share ?? null, windowMs: lane?.windowMs ?? windowMs });
  return {
    at,
    requests: reading(lane(status, "requests", 1000), 1000),
    tokens: reading(lane(status, "tokens", 60_000), 60_000),
    queued: status.queued,
    inFlight: status.inFlight,
    marginMs: status.marginMs,
  };
}

function show(readout, s, rateLimited) {
  const values = {
    requests: `${s.requests.used} / ${compact(s.requests.limit)}`,
    tokens: `${compact(s.tokens.used)} / ${compact(s.tokens.limit)}`,
    queued: String(s.queued),
    inFlight: String(s.inFlight),
    margin: `${Math.round(s.marginMs)} ms`,
    refused: String(rateLimited),
  };
  for (const [key, text] of Object.entries(values)) {
    const cell = readout.querySelector(`[data-value="${key}"]`);
    if (cell.textContent !== text) cell.textContent = text;
  }
}

function draw(canvas, samples, refusals, now) {
  const { ctx, width, height } = context(canvas);
  if (!samples.length || width < 100) return;
  const h = (height - 18) / 3;
  const x = (at) => LABELS + ((at - (now - SPAN_MS)) / SPAN_MS) * (width - LABELS);
  const panel = (i) => ({ x: 0, y: i * h, w: width, h, labels: LABELS });

  const requests = panel(0);
  lanePanel(ctx, requests, samples, x, "requests", "Requests");
  ctx.strokeStyle = COLORS.refused;
  ctx.lineWidth = 2;
  for (const at of refusals) {
    ctx.beginPath();
    ctx.moveTo(x(at), requests.y + requests.h - 14);
    ctx.lineTo(x(at), requests.y + requests.h - 2);
    ctx.stroke();
  }
  lanePanel(ctx, panel(1), samples, x, "tokens", "Tokens");

  const queue = panel(2);
  const queueMax = Math.max(4, ...samples.map((s) => Math.max(s.queued, s.inFlight)));
  frame(ctx, queue, "Queued (orange) and in flight (green)", queueMax, [0, queueMax], compact);
  series(ctx, queue, samples, x, (s) => s.queued, queueMax, COLORS.queued, 2);
  series(ctx, queue, samples, x, (s) => s.inFlight, queueMax, COLORS.inFlight, 2);

  ctx.fillStyle = COLORS.text;
  ctx.textAlign = "left";
  ctx.fillText("3 min ago", LABELS, height - 8);
  ctx.textAlign = "right";
  ctx.fillText("now", width, height - 8);
}

/** A lane's panel: what its window holds against the limit, and this tab's share if it has one. */
function lanePanel(ctx, box, samples, x, name, noun) {
  const last = samples.at(-1)[name];
  const max = Math.max(1, last.limit) * 1.25;
  const window = last.windowMs >= 60_000 ? `${last.windowMs / 60_000} min` : `${last.windowMs / 1000} s`;
  frame(ctx, box, `${noun} in the last ${window} (limit ${compact(last.limit)})`, max, [0, last.limit], compact);
  series(ctx, box, samples, x, (s) => s[name].used, max, COLORS.used, 2);
  series(ctx, box, samples, x, (s) => s[name].limit, max, COLORS.limit, 1, [6, 4]);
  if (last.share !== null) series(ctx, box, samples, x, (s) => s[name].share ?? 0, max, COLORS.share, 1.5, [2, 3]);
}

function series(ctx, box, samples, x, value, max, color, lineWidth, dash = []) {
  ctx.strokeStyle = color;
  ctx.lineWidth = lineWidth;
  ctx.setLineDash(dash);
  ctx.beginPath();
  samples.forEach((s, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x(s.at), yOf(box, value(s), max)));
  ctx.stroke();
  ctx.setLineDash([]);
}
