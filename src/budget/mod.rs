//! One organization's budget shared by many clients (isolates, processes, tabs):
//! the lease protocol, pure. A [`Coordinator`] (in a Durable Object, on Redis, in
//! the leader tab) divides each shared lane's capacity into *shares*; a
//! [`Holder`] (each client) enforces its share with its own limiter, so that most
//! calls never wait on the coordinator.
//!
//! It imports the limiter (the lanes a holder shares) and `units`, nothing of calls
//! or the edge; the edge carries its asks and answers.
//!
//! # Why shares, and why it is safe
//!
//! A share is a capacity per window on one lane ("3 requests in any second"), valid
//! until the lease expires. Each holder's limiter keeps its own sliding window
//! within the share it *applies*, so in any window the holders together send at
//! most the sum of what the coordinator counts for them, which it keeps within
//! the limit. Raising a share is immediate, from capacity no one holds. Lowering
//! takes two steps, so that a lost answer never leaves capacity counted twice: the
//! coordinator keeps counting the old share until the holder's next ask says it
//! applies the new one; then what the holder's window still holds above it
//! *cools* until it leaves that window (at most a window) plus a margin, and the
//! rest is free at once. A holder may
//! lower its own share any time and say so in its next ask (a queue that ran dry
//! gives back at once). The coordinator counts a holder's share until its lease
//! has expired and cooled: a holder that dies costs its share for a lease and a
//! window, never correctness. A holder whose lease lapsed while it was idle
//! comes back applying nothing (its share may have been handed on), and an ask
//! older than one answered (a store retrying a write the holder gave up on) is
//! not counted. A live holder that cannot reach the coordinator
//! spends its share until the lease expires, then falls back to it alone
//! ([`HolderState::Fallback`]): going on, without the guarantee, and saying so.
//!
//! A cap on requests in flight is a lane with no window: a share is a number of
//! slots, and what a holder holds is its requests in flight. These end with
//! their calls, when no one can tell in advance, so nothing cools: what a holder
//! holds above its share stays counted until an ask says it ended, and the
//! holder asks again as its requests end. A holder keeps its lease alive while
//! its requests are in flight; a dead one's slots return with its lease, after
//! the margin (its connections closed with it).
//!
//! A lane longer than an hour (the month's tokens) is an *allowance*: its share is
//! what the holder has spent plus what its rate shares let it spend in a lease,
//! so a holder that dies, or cannot reach the coordinator, strands little for the
//! month, and one that falls back spends what it was allowed and no more (the
//! month fails closed).
//!
//! Refunds and debts stay with the holder: a settle changes what its own window
//! holds, and the coordinator hears of it only as that, in the next ask. Every time is a
//! duration on the clock of whoever measures it, so holders and coordinator need no
//! common clock.
//!
//! `tests/budget.rs` holds the protocol to its invariant: simulated holders with
//! real limiters, random demand, delays, holder deaths and coordinator restarts,
//! never over a limit in any window.

mod coordinator;
mod holder;
mod views;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use self::coordinator::{Coordinator, CoordinatorPolicy, LEASE_MS};
pub use self::holder::{Holder, HolderState, ASK_TIMEOUT};
pub use self::views::{BudgetView, CoordinatorView};
use crate::limiter::LaneSpec;
use crate::units::Unit;

/// A shared lane: its unit, window and limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedLane {
    /// `requests` or `tokens`.
    pub unit: Unit,
    /// The window, in milliseconds; 0 for requests in flight (each is held
    /// until it ends, not for a window).
    pub window_ms: u64,
    /// The limit the organization has in any window.
    pub limit: u64,
}

impl SharedLane {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }

    /// Whether it is an allowance (a window over an hour: the month), not a rate.
    pub fn is_allowance(&self) -> bool {
        self.window_ms > 3_600_000
    }

    /// Whether it caps requests in flight.
    pub fn is_in_flight(&self) -> bool {
        self.unit == Unit::Requests && self.window_ms == 0
    }

    /// The shared lane of a limiter's lane.
    pub fn of(spec: &LaneSpec) -> SharedLane {
        SharedLane { unit: spec.unit, window_ms: spec.window.as_millis() as u64, limit: spec.capacity }
    }

    fn same_lane(&self, other: &SharedLane) -> bool {
        self.unit == other.unit && self.window_ms == other.window_ms
    }
}

/// What a holder sends: who it is, the lanes it knows (with the limits it
/// believes, from its options and the server's headers), and per lane what its
/// window holds, the share it applies, and what it would like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ask {
    /// A name unique to this holder for its life.
    pub holder: String,
    /// Numbers this holder's asks; the grant echoes it.
    pub seq: u64,
    /// The lanes and their limits as the holder believes them.
    pub lanes: Vec<SharedLane>,
    /// Per lane: what the holder's window holds now.
    pub held: Vec<u64>,
    /// Per lane: the share the holder enforces now (the last granted, or lower).
    pub applied: Vec<u64>,
    /// Per lane: in how many ms the holder's window holds no more than `applied`
    /// (what it holds above cools until then at the latest, never longer than a
    /// window).
    #[serde(default)]
    pub clear_ms: Vec<u64>,
    /// Per lane: earlier steps of that clearing, `[ms, level]` with levels falling
    /// from `held` towards `applied`: in `ms` the window holds no more than
    /// `level`, and what is above it cools until then. A holder whose queue ran
    /// dry gives back what its window holds, and each call in it frees in its own
    /// time, not all at the last one's.
    #[serde(default)]
    pub clear_steps: Vec<Vec<[u64; 2]>>,
    /// Per lane: what the holder would like to hold in a window (held plus queued).
    pub want: Vec<u64>,
    /// The `epoch` of the last grant, if any: a coordinator that finds another
    /// one's knows its state was lost.
    #[serde(default)]
    pub epoch: Option<u64>,
}

/// The coordinator's answer: a share per lane of the ask, and when to ask again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// The ask's `seq`.
    pub seq: u64,
    /// Per lane of the ask: the capacity per window this holder may use.
    pub shares: Vec<u64>,
    /// Ask again within this long (sooner if demand changes).
    pub renew_ms: u64,
    /// Stop spending the shares this long after the ask was sent, unless renewed.
    pub expires_ms: u64,
    /// Holders sharing the budget now.
    pub holders: u32,
    /// Names this coordinator's state (a restarted one that kept its state keeps
    /// it; one that lost it has another).
    #[serde(default)]
    pub epoch: u64,
    /// Per lane of the ask: whether holders want more than the limit in all. A
    /// holder whose queue runs dry gives its share of such a lane back at once.
    pub contended: Vec<bool>,
}
