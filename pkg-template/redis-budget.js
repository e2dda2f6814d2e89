// A shared budget on Redis. The coordinator's state lives in one hash per budget,
// under a `{name}` hash tag so that it stays on one shard of a Redis Cluster. A
// holder runs the coordinator (the same Rust as MistralBudget, in wasm) on the
// state it last read, and writes the result back only if no one wrote in between:
// the one script is a compare-and-set, so no budget logic lives in Lua.
import { decide } from "./budget-coordinator.js";

// KEYS[1]: the budget's hash. ARGV: the version the new state was computed from,
// the new state ("" only reads), its version, how long the hash lives (ms).
// Returns {1 if written, the version now, the state if not written, Redis's clock
// in ms}. Redis's clock is the budget's, so machines need no common clock.
const COMPARE_AND_SET = `
local current = redis.call('HMGET', KEYS[1], 'version', 'state')
local version, state = current[1] or '', current[2] or ''
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[2] ~= '' and ARGV[1] == version then
  redis.call('HSET', KEYS[1], 'version', ARGV[3], 'state', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, ARGV[3], '', now}
end
return {0, version, state, now}
`;

// Long enough to keep a month's allowance; a budget no one uses goes after that.
const HASH_LIFE_MS = String(40 * 24 * 3600 * 1000);

// Writes that lost the race, in a row, before the ask fails (and is retried by
// the holder a second later). After each, a jittered pause that doubles, so that
// holders racing for one key fall out of step instead of colliding again. The
// pause is counted in round trips to Redis, not milliseconds: on a loaded machine
// a round trip takes longer than a fixed pause, and holders would stay in step.
const TRIES = 10;
const MAX_PAUSE_MS = 1000;

/** Whether `redis` looks like a connected ioredis or node-redis (4+) client. */
export function isRedisClient(redis) {
  return typeof redis?.evalsha === "function" || typeof redis?.evalSha === "function";
}

/**
 * `lease(ask) -> Promise<grant>` for the budget `name` on `redis`; `leaseMs`, if
 * given, is how long a lease lasts when this holder is the one that creates the
 * budget. `onCommit`, for tests, sees every write: `{ from, version, ask, now, grant }`.
 */
export function redisLease(redis, name, leaseMs, onCommit) {
  const key = `mistral-ratelimit:{${name}}`;
  const run = script(redis, key);
  let seen; // the last state read or written: { version, state, redisMs, at }
  const read = (reply) => ({ version: String(reply[1]), state: String(reply[2]), redisMs: Number(reply[3]), at: performance.now() });
  return async function lease(ask) {
    for (let i = 0; i < TRIES; i++) {
      seen ??= read(await run(["", "", "", HASH_LIFE_MS]));
      const now = seen.redisMs + (performance.now() - seen.at);
      const { grant, state } = decide(seen.state, ask, now, leaseMs);
      const version = freshVersion();
      const sent = performance.now();
      const reply = await run([seen.version, state, version, HASH_LIFE_MS]);
      const roundTripMs = Math.max(1, performance.now() - sent);
      if (Number(reply[0]) === 1) {
        onCommit?.({ from: seen.version, version, ask, now, grant });
        seen = { version, state, redisMs: Number(reply[3]), at: performance.now() };
        return grant;
      }
      // The state that won is stale by the end of the pause: read it again after.
      seen = undefined;
      const pauseMs = Math.min(MAX_PAUSE_MS, roundTripMs * 2 ** i);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * pauseMs));
    }
    throw new Error(`the budget on Redis changed under this holder ${TRIES} times in a row`);
  };
}

// Runs the script by its hash (loaded once per server: EVAL after NOSCRIPT loads
// it), with ioredis's or node-redis's calling convention.
function script(redis, key) {
  const sha = sha1(COMPARE_AND_SET);
  const [bySha, byText] =
    typeof redis.evalsha === "function"
      ? [(h, args) => redis.evalsha(h, 1, key, ...args), (args) => redis.eval(COMPARE_AND_SET, 1, key, ...args)]
      : [(h, args) => redis.evalSha(h, { keys: [key], arguments: args }), (args) => redis.eval(COMPARE_AND_SET, { keys: [key], arguments: args })];
  return async (args) => {
    try {
      return await bySha(await sha, args);
    } catch (error) {
      if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
      return byText(args);
    }
  };
}

async function sha1(text) {
  const digest = await globalThis.crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A version no other write has: after Redis loses the hash, versions start over,
// and a stale holder must not match one by chance.
const freshVersion = () => globalThis.crypto.randomUUID();
