// A storm's timeline: one row per call from its start to its end (blue when it
// completed, red when it failed), a red tick under the rows for each 429, and the
// limit's floor (the least time the limits allow) as a dashed line. Both storms
// are drawn on one time scale so their lengths compare at a glance.
import { COLORS, context } from "./canvas.js";

const AXIS = 18;
const TICKS = 14;

/** Draws `storm` (from runStorm) into `canvas` with `spanMs` as the full width. */
export function drawTimeline(canvas, storm, spanMs) {
  const { ctx, width, height } = context(canvas);
  const rows = height - AXIS - TICKS;
  const x = (ms) => (ms / spanMs) * (width - 1);
  const step = rows / Math.max(1, storm.calls.length);
  storm.calls.forEach((call, i) => {
    ctx.strokeStyle = call.ok ? COLORS.used : COLORS.refused;
    ctx.lineWidth = Math.max(1, step - 1);
    const y = i * step + step / 2;
    ctx.beginPath();
    ctx.moveTo(x(call.start), y);
    ctx.lineTo(Math.max(x(call.end), x(call.start) + 1), y);
    ctx.stroke();
  });
  ctx.strokeStyle = COLORS.refused;
  ctx.lineWidth = 1;
  for (const at of storm.refusals) {
    ctx.beginPath();
    ctx.moveTo(x(at), rows + 2);
    ctx.lineTo(x(at), rows + TICKS - 2);
    ctx.stroke();
  }
  ctx.strokeStyle = COLORS.limit;
  ctx.setLineDash([6, 4]);
  ctx.beginPath();
  ctx.moveTo(x(storm.floorMs), 0);
  ctx.lineTo(x(storm.floorMs), rows + TICKS);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = COLORS.text;
  ctx.textAlign = "left";
  ctx.fillText("0 s", 0, height - AXIS / 2);
  ctx.textAlign = "right";
  ctx.fillText(`${(spanMs / 1000).toFixed(1)} s`, width, height - AXIS / 2);
}
