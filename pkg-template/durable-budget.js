// MistralBudget: the Durable Object that holds one organization's budget for every
// isolate, Worker and colo. It runs the lease protocol's coordinator (Rust, in the
// same wasm module as the client) and stores its state after every answer, so an
// evicted or restarted object forgets nothing it counted.
import { DurableObject } from "cloudflare:workers";
import * as runtime from "./runtime.js";

const KEY = "coordinator";

export class MistralBudget extends DurableObject {
  #coordinator;
  #generation;

  constructor(ctx, env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(() => this.#load());
  }

  async #load() {
    const saved = await this.ctx.storage.get(KEY);
    this.#generation = runtime.currentGeneration();
    this.#coordinator = new (runtime.live().BudgetCoordinator)(saved ?? undefined, leaseMs(this.env));
  }

  // After a trap, the coordinator is rebuilt from what was last stored.
  async #live() {
    if (this.#generation !== runtime.currentGeneration()) await this.#load();
    return this.#coordinator;
  }

  /** Answers a holder's ask with its grant (RPC). */
  async lease(ask) {
    const coordinator = await this.#live();
    const grant = coordinator.lease(ask, Date.now());
    // The output gate holds the answer until this write is durable.
    this.ctx.storage.put(KEY, coordinator.save());
    return grant;
  }

  /** Holders, and per lane what is counted for them and what cools (RPC). */
  async status() {
    return (await this.#live()).status(Date.now());
  }
}

// MISTRAL_BUDGET_LEASE_MS in the Worker's vars: how long a lease lasts (and how
// long the share of an isolate that died stays counted). Default 15 s. One out of
// bounds is refused in the Worker's log and the default kept: failing every ask
// would stop every call of every isolate, over a setting with a safe default.
function leaseMs(env) {
  const given = env?.MISTRAL_BUDGET_LEASE_MS;
  if (given === undefined || given === "") return undefined;
  const problem = runtime.live().leaseMsProblem(Number(given));
  if (problem === undefined) return Number(given);
  console.error(`MistralBudget: MISTRAL_BUDGET_LEASE_MS ignored: ${problem.replace("leaseMs", "it")}`);
  return undefined;
}
