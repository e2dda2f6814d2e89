// The coordinator of a shared budget, run where its state lives only between
// asks (on Redis, in the leader tab): read from a string, answer, write back.
import * as runtime from "./runtime.js";

/**
 * The coordinator's answer to `ask` at `now` (ms on the budget's clock) from the
 * stored `state` ("" or undefined for a budget not yet created, or lost), and the
 * state after it. `leaseMs` applies to a budget this call creates.
 */
export function decide(state, ask, now, leaseMs) {
  return runtime.guard(
    () => {
      const coordinator = new (runtime.live().BudgetCoordinator)(state || undefined, leaseMs);
      try {
        return { grant: coordinator.lease(ask, now), state: coordinator.save() };
      } finally {
        coordinator.free();
      }
    },
    (message) => new Error(`the budget's coordinator failed: ${message}`),
  );
}
