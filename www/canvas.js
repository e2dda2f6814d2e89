// What the page's two charts share: a canvas drawn at the screen's pixel density,
// the palette (style.css's --chart-* colours, which the legend uses too), and axes.
const css = getComputedStyle(document.documentElement);
const colour = (name) => css.getPropertyValue(`--chart-${name}`).trim();
export const COLORS = {
  text: colour("text"),
  grid: colour("grid"),
  used: colour("used"),
  limit: colour("limit"),
  share: colour("share"),
  queued: colour("queued"),
  inFlight: colour("in-flight"),
  refused: colour("refused"),
};
export const FONT = "12px system-ui, sans-serif";

/** The canvas's 2D context, scaled so one unit is one CSS pixel; with its size. */
export function context(canvas) {
  const ratio = globalThis.devicePixelRatio || 1;
  const { width, height } = canvas.getBoundingClientRect();
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.textBaseline = "middle";
  return { ctx, width, height };
}

/** A panel's frame: its title at the top left, a labelled grid line at each of `marks`. */
export function frame(ctx, box, title, max, marks, format) {
  ctx.fillStyle = COLORS.text;
  ctx.textAlign = "left";
  ctx.fillText(title, box.x, box.y + 7);
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  for (const value of marks) {
    const y = yOf(box, value, max);
    ctx.beginPath();
    ctx.moveTo(box.x + box.labels, y);
    ctx.lineTo(box.x + box.w, y);
    ctx.stroke();
    ctx.fillText(format(value), box.x + box.labels - 4, y);
  }
}

/** The y of `value` in a panel whose plot spans 0 to `max`, below its title. */
export function yOf(box, value, max) {
  const top = box.y + 24;
  const bottom = box.y + box.h - 4;
  return bottom - (Math.min(value, max) / (max || 1)) * (bottom - top);
}

/** A compact number: 1200 as 1.2k, 3400000 as 3.4M. */
export function compact(value) {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(1)}`;
}
