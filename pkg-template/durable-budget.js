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
// long the share of an isolate that died stays counted). Default 15 s.
function leaseMs(env) {
  const ms = Number(env?.MISTRAL_BUDGET_LEASE_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
