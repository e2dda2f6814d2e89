// The demo page: one client, built from the settings in the page's address, that
// the chat, the storm and the lanes chart share. Tabs of this origin share its
// budget unless the settings name none.
import { MistralRatelimitClient } from "./pkg/index.js";
import { watchChat } from "./chat.js";
import { watchLanes } from "./lanes.js";
import { readSettings, showSettings } from "./settings.js";
import { watchStorm } from "./storm-view.js";

const problems = document.getElementById("problems");
const report = (message) => {
  problems.hidden = false;
  problems.appendChild(document.createElement("p")).textContent = message;
};
addEventListener("error", (e) => report(e.message));
addEventListener("unhandledrejection", (e) => report(`${e.reason?.name ?? "Error"}: ${e.reason?.message ?? e.reason}`));

const settings = readSettings(location.search, location.origin);
showSettings(document.getElementById("settings-form"), settings);

const client = new MistralRatelimitClient({
  // The backend holds the key: the mock accepts any, the proxy Worker adds the real one.
  apiKey: "page-has-no-key",
  dangerouslyAllowBrowser: true,
  serverURL: settings.server,
  requestsPerSecond: settings.rps,
  tokensPerMinute: settings.tpm,
  maxRetries: 3,
  ...(settings.tabs ? { budget: { tabs: settings.tabs } } : {}),
});

watchLanes(client, document.getElementById("lanes-chart"), document.getElementById("lanes-now"));
watchChat(client, document.getElementById("chat"));
watchStorm(client, document.getElementById("storm"), settings);

const sharing = document.getElementById("sharing");
const showSharing = () => {
  const budget = client.status().budget;
  const text = !budget
    ? "This tab spends the budget alone."
    : budget.state === "joining"
      ? `This tab joins the budget "${budget.name}", shared with this site's other tabs, on its first call.`
      : `${budget.holders} ${budget.holders === 1 ? "tab shares" : "tabs share"} the budget "${budget.name}" (${budget.state}).`;
  if (sharing.textContent !== text) sharing.textContent = text;
};
showSharing();
setInterval(showSharing, 500);

// For the browser tests and the curious: the page's client.
globalThis.demo = { client, ready: true };
