// The client's wasm instance, and a fresh one after a trap. A panic (or any trap)
// leaves an instance with half-done state, so it never runs again: the calls it
// was serving end in an InternalError, and the next use starts a new instance
// from the same compiled module. Internal: not re-exported by the entries.
import { instantiate } from "./mistral_ratelimit.js";

let module; // the compiled module, kept to start new instances from
let glue; // the live instance's glue, or undefined after a trap
let generation = 0; // bumped by every trap
let panicMessage; // what the panic hook said, until the trap that follows
let lastLoss = ""; // the message of the last trap
const pending = new Set(); // ends, one per call running on the live instance

function trapped(error) {
  const message = panicMessage ?? `the wasm module trapped: ${error.message}`;
  panicMessage = undefined;
  lastLoss = message;
  glue = undefined;
  generation++;
  const ends = [...pending];
  pending.clear();
  for (const end of ends) end(message);
}

function adopt(fresh) {
  fresh.onPanic((message) => {
    panicMessage = message;
  });
  module = fresh.module();
  glue = fresh;
}

/** Browsers and Deno: fetches the .wasm from beside the glue (or `source`). */
export async function start(source) {
  const fresh = instantiate(trapped);
  await fresh.init(source === undefined ? undefined : { module_or_path: source });
  adopt(fresh);
}

/** Node and Workers: `source` is the module's bytes or a compiled module. */
export function startSync(source) {
  const fresh = instantiate(trapped);
  fresh.initSync({ module: source });
  adopt(fresh);
}

/** The live instance's exports (`Client`, `version`, ...), started anew after a trap. */
export function live() {
  if (glue === undefined) {
    if (module === undefined) throw new Error("mistral-ratelimit: import the package through its entry point");
    const fresh = instantiate(trapped);
    fresh.initSync({ module });
    adopt(fresh);
  }
  return glue;
}

/** Which instance is live: objects made by an earlier one are dead. */
export function currentGeneration() {
  return generation;
}

/**
 * Runs `run` (which calls into wasm) and throws `lost(message)` if the instance
 * trapped meanwhile, whatever `run` returned or threw.
 */
export function guard(run, lost) {
  const before = generation;
  let result;
  let failure;
  try {
    result = run();
  } catch (e) {
    failure = { e };
  }
  if (generation !== before) throw lost(lastLoss);
  if (failure) throw failure.e;
  return result;
}

/**
 * The promise that `run` returns, or `lost(message)` if the instance traps
 * before it settles. `born` is the generation the objects `run` uses came from.
 */
export function track(run, lost, born = generation) {
  if (born !== generation) return Promise.reject(lost("the wasm module was restarted since this stream began"));
  let end;
  const ended = new Promise((_, reject) => {
    end = (message) => reject(lost(message));
  });
  pending.add(end);
  let result;
  try {
    result = guard(run, lost);
  } catch (e) {
    pending.delete(end);
    return Promise.reject(e);
  }
  const settled = Promise.race([result, ended]);
  settled.then(
    () => pending.delete(end),
    () => pending.delete(end),
  );
  return settled;
}
