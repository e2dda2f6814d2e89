// A budget shared by the tabs (and workers) of one origin. The leader, whichever
// holds the budget's Web Lock, runs the coordinator; the others ask it over a
// BroadcastChannel. When the leader's tab closes, the lock passes to the next
// at once, and it carries on from the state the leader kept in localStorage after
// every answer, and answers at once the asks its predecessor left unanswered.
// Messages are events, not timers, so a hidden leader still answers on time; a
// hidden follower's late renewals cost it its share, never a window.
import { decide } from "./budget-coordinator.js";
import * as runtime from "./runtime.js";

/** Whether this context can share a budget with its origin's other tabs. */
export function tabsAvailable() {
  return typeof globalThis.BroadcastChannel === "function" && typeof globalThis.navigator?.locks?.request === "function";
}

/** `lease(ask) -> Promise<grant>` for the budget `name` shared by this origin's tabs. */
export function tabsLease(name, leaseMs) {
  const key = `mistral-ratelimit:${name}`;
  const channel = new BroadcastChannel(key);
  const answers = new Map(); // this tab's ask id -> resolve
  const unanswered = new Map(); // any tab's ask id -> ask, until a grant for it passes
  let leading = false;
  // Forget an ask a little after its holder has given up on it.
  const forgetMs = runtime.live().askTimeoutMs() + 1000;
  const forget = (id) =>
    setTimeout(() => {
      answers.delete(id);
      unanswered.delete(id);
    }, forgetMs);

  const answer = (ask) => {
    const { grant, state } = decide(load(key), ask, Date.now(), leaseMs);
    store(key, state);
    return grant;
  };
  channel.onmessage = ({ data }) => {
    if (data?.type === "grant") {
      answers.get(data.id)?.(data.grant);
      answers.delete(data.id);
      unanswered.delete(data.id);
    } else if (data?.type === "ask" && leading) {
      reply(data.id, data.ask);
    } else if (data?.type === "ask") {
      unanswered.set(data.id, data.ask);
      forget(data.id);
    }
  };
  const reply = (id, ask) => {
    let grant;
    try {
      grant = answer(ask);
    } catch {
      return; // the asker's ask times out, and it tries again
    }
    const own = answers.get(id);
    if (own) own(grant);
    else channel.postMessage({ type: "grant", id, grant });
    answers.delete(id);
  };
  // Held for the life of this context: the next in line leads when it ends, and
  // first answers what the one before left unanswered (this tab's asks too).
  navigator.locks.request(key, () => {
    leading = true;
    for (const [id, ask] of unanswered) reply(id, ask);
    unanswered.clear();
    return new Promise(() => {});
  });

  return async (ask) => {
    if (leading) return answer(ask);
    const id = globalThis.crypto.randomUUID();
    forget(id);
    return new Promise((resolve) => {
      answers.set(id, resolve);
      unanswered.set(id, ask);
      channel.postMessage({ type: "ask", id, ask });
    });
  };
}

// The state, where every tab of the origin reads it; a context without
// localStorage (a worker) keeps it in memory, and a leader that follows it
// starts anew (and holds back free capacity until the old leases end).
const memory = new Map();

// This leader's own last write first (a tab leads until it closes); then what
// the leader before it stored.
function load(key) {
  if (memory.has(key)) return memory.get(key);
  try {
    return globalThis.localStorage?.getItem(key) ?? "";
  } catch {
    return "";
  }
}

function store(key, state) {
  memory.set(key, state);
  try {
    globalThis.localStorage?.setItem(key, state);
  } catch {
    // storage full or refused: the memory copy serves this leader
  }
}
