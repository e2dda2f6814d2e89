//! What a shared budget shows: a holder's lease in `client.status().budget`, and
//! a coordinator's books in `MistralBudget.status()`, shaped as JS reads them.

use serde::Serialize;

use super::{Coordinator, Holder};
use crate::time::Instant;

/// A holder's lease: where it stands, and its share of each lane.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetView {
    name: String,
    state: &'static str,
    holders: u32,
    asks: f64,
    failures: f64,
    shares: Vec<ShareView>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ShareView {
    unit: &'static str,
    window_ms: f64,
    limit: f64,
    share: f64,
}

impl BudgetView {
    /// `holder`'s lease on the budget `name`, at `now`.
    pub fn of(name: &str, holder: &mut Holder, now: Instant) -> BudgetView {
        let shares = holder
            .lanes()
            .to_vec()
            .iter()
            .zip(holder.shares(now))
            .map(|(lane, share)| ShareView {
                unit: lane.unit.as_str(),
                window_ms: lane.window_ms as f64,
                limit: lane.limit as f64,
                share: share as f64,
            })
            .collect();
        let (asks, failures) = holder.counts();
        BudgetView {
            name: name.to_owned(),
            state: holder.state().name(),
            holders: holder.holders(),
            asks: asks as f64,
            failures: failures as f64,
            shares,
        }
    }
}

/// A coordinator's books: its live holders, and per lane what it counts for
/// them and what cools.
#[derive(Clone, Debug, Serialize)]
pub struct CoordinatorView {
    holders: f64,
    lanes: Vec<BookView>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BookView {
    unit: &'static str,
    window_ms: f64,
    limit: f64,
    counted: f64,
    cooling: f64,
}

impl CoordinatorView {
    /// `coordinator`'s books at `now_ms` (its clock).
    pub fn of(coordinator: &mut Coordinator, now_ms: u64) -> CoordinatorView {
        let lanes = coordinator
            .lanes(now_ms)
            .into_iter()
            .map(|(lane, counted, cooling)| BookView {
                unit: lane.unit.as_str(),
                window_ms: lane.window_ms as f64,
                limit: lane.limit as f64,
                counted: counted as f64,
                cooling: cooling as f64,
            })
            .collect();
        CoordinatorView { holders: coordinator.holders(now_ms) as f64, lanes }
    }
}
