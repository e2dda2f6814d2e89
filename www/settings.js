// The page's settings live in its address (?server=&rps=&tpm=&tabs=), so a setup
// can be bookmarked or printed by `make demo`, and "Apply" is a plain form GET.
const DEFAULTS = { rps: 5, tpm: 500_000, tabs: "demo" };

/** The settings from `search`, with defaults; the backend defaults to the page's origin. */
export function readSettings(search, origin) {
  const q = new URLSearchParams(search);
  const number = (name) => {
    const value = Number(q.get(name));
    return q.has(name) && Number.isFinite(value) && value > 0 ? value : DEFAULTS[name];
  };
  return {
    server: q.get("server") || origin,
    rps: number("rps"),
    tpm: number("tpm"),
    // An empty name turns sharing off.
    tabs: q.has("tabs") ? q.get("tabs").trim() : DEFAULTS.tabs,
  };
}

/** Fills the settings form with `settings`. */
export function showSettings(form, settings) {
  for (const [name, value] of Object.entries(settings)) form.elements[name].value = String(value);
}
