// Types of the package's Cloudflare Workers entry (worker.js): everything of
// index.d.ts, and the MistralBudget Durable Object. A Worker imports it as
// "mistral-ratelimit/worker"; bundlers that apply the `workerd` condition (wrangler)
// also resolve "mistral-ratelimit" to it, but TypeScript does so only with
// `customConditions: ["workerd"]`, so the subpath is the one that type-checks.
//
// Declared without @cloudflare/workers-types, and compatible with it: MistralBudget
// has the shape of its `DurableObject` (the brand, `ctx`, `env`), so
// `DurableObjectNamespace<MistralBudget>` is a typed binding whose stub has `lease`.

import type { LeaseMessage } from "./index.js";

export * from "./index.js";

/** What MistralBudget uses of its Durable Object's state: Cloudflare's `DurableObjectState` has it. */
export interface DurableObjectStateLike {
  readonly storage: {
    get(key: string): Promise<unknown>;
    put(key: string, value: unknown): Promise<void>;
  };
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/**
 * The Durable Object that holds one organization's budget for every isolate,
 * Worker and colo. Re-export it from the Worker's main module and bind it in
 * wrangler.toml (a `durable_objects` binding, e.g. MISTRAL_BUDGET, whose
 * `class_name` is "MistralBudget", and a migration with `new_sqlite_classes`):
 *
 * ```ts
 * export { MistralBudget } from "mistral-ratelimit/worker";
 * ```
 *
 * Clients then share it with `budget: { durableObject: env.MISTRAL_BUDGET, name }`.
 * `MISTRAL_BUDGET_LEASE_MS` in the Worker's vars sets how long a lease lasts
 * (default 15000): also how long the share of an isolate that died stays counted.
 */
export declare class MistralBudget {
  /** Cloudflare's brand of a Durable Object class (`Rpc.DurableObjectBranded`). */
  __DURABLE_OBJECT_BRAND: never;
  protected ctx: DurableObjectStateLike;
  /** The Worker's bindings and vars (MISTRAL_BUDGET_LEASE_MS is read from it). */
  protected env: object;
  /** The runtime constructs it; a subclass passes both on. */
  constructor(ctx: DurableObjectStateLike, env: object);
  /** Answers a holder's ask with its grant (RPC; the client calls it). */
  lease(ask: LeaseMessage): Promise<LeaseMessage>;
  /** Holders, and per lane what is counted for them and what cools before it is free. */
  status(): Promise<{
    holders: number;
    lanes: Array<{ unit: "requests" | "tokens"; windowMs: number; limit: number; counted: number; cooling: number }>;
  }>;
}
