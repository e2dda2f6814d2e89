//! What the limiter shows of itself (`status()`, the month's usage) and what a
//! shared budget reads and sets on it (its shareable lanes and their shares).

use std::time::Duration;

use super::super::lane::{LaneSpec, Unit, UNCONFIGURED};
use super::super::status::{InFlightStatus, LaneStatus, LimitSource, Status};
use super::Core;
use crate::time::Instant;

impl Core {
    pub(crate) fn status(&mut self, now: Instant) -> Status {
        let now = self.advance(now);
        let mut lanes = Vec::new();
        let scopes = std::iter::once((None, &self.lanes.workspace))
            .chain(self.lanes.models.iter().map(|(m, ids)| (Some(m.to_string()), ids)));
        for (model, ids) in scopes {
            for &i in ids {
                if !self.lanes.is_live(i, now) {
                    continue;
                }
                let lane = &self.lanes.lanes[i];
                let free = lane.free();
                lanes.push(LaneStatus {
                    name: lane.spec.name(),
                    model: model.clone(),
                    unit: lane.spec.unit,
                    window: lane.spec.window,
                    limit: lane.enforced(),
                    configured: (lane.configured != UNCONFIGURED).then_some(lane.configured),
                    source: if lane.is_inferred() {
                        LimitSource::RateLimits
                    } else if lane.stated {
                        LimitSource::Header
                    } else {
                        LimitSource::Configured
                    },
                    share: lane.share,
                    used: lane.held(),
                    available: free,
                    next_available: if free > 0 {
                        Duration::ZERO
                    } else {
                        lane.earliest_fit(now, 1).map_or(Duration::MAX, |t| t - now)
                    },
                });
            }
        }
        Status {
            lanes,
            in_flight: self.bookings.len(),
            in_flight_limit: self.in_flight.cap.map(|limit| InFlightStatus {
                limit,
                configured: self.in_flight.configured,
                source: self.in_flight.source,
                share: self.in_flight.share,
            }),
            queued: self.queue.len(),
            closed_for: self.closed_until - now,
            margin: self.margin.current(self.sent.open()),
            counters: self.counters.clone(),
        }
    }

    /// The month's token lane, if the workspace has one: what its window holds, and its limit.
    pub(crate) fn month_usage(&mut self, now: Instant) -> Option<(u64, u64)> {
        let now = self.advance(now);
        self.lanes
            .workspace
            .iter()
            .filter(|&&i| self.lanes.is_live(i, now))
            .map(|&i| &self.lanes.lanes[i])
            .filter(|lane| lane.spec.unit == Unit::Tokens && lane.spec.window >= Duration::from_secs(86_400))
            .max_by_key(|lane| lane.spec.window)
            .map(|lane| (lane.held(), lane.spec.capacity))
    }

    /// The workspace lanes a budget shares (those with a known limit, configured
    /// or learned, and the cap on requests in flight): each with what it holds
    /// and what waits for it.
    pub(crate) fn shareable(&mut self, now: Instant) -> Vec<(LaneSpec, u64, u64)> {
        self.advance(now);
        let (requests, tokens) = self.queue.totals();
        let lanes =
            self.lanes.workspace.iter().map(|&i| &self.lanes.lanes[i]).filter(|l| l.spec.capacity != UNCONFIGURED).map(
                |l| {
                    let queued = match l.spec.unit {
                        Unit::Requests => requests,
                        Unit::Tokens => tokens,
                    };
                    (l.spec, l.held(), queued)
                },
            );
        let in_flight =
            self.in_flight.cap.map(|c| (LaneSpec::requests_in_flight(c), self.bookings.len() as u64, requests));
        lanes.chain(in_flight).collect()
    }

    /// When the workspace lane of `unit` and `window` holds no more than `level`.
    /// Requests in flight end when their calls do, which no one can tell: `now`,
    /// and a budget counts what they hold instead (see `crate::budget`).
    pub(crate) fn clears_at(&mut self, unit: Unit, window: Duration, level: u64, now: Instant) -> Instant {
        let now = self.advance(now);
        self.lanes
            .workspace
            .iter()
            .map(|&i| &self.lanes.lanes[i])
            .filter(|l| l.spec.unit == unit && l.spec.window == window)
            .map(|l| l.clears_at(now, level))
            .max()
            .unwrap_or(now)
    }

    /// Sets this client's share on the workspace lane of `unit` and `window`, or
    /// of the cap on requests in flight (`None`: the whole limit), then serves
    /// whoever now fits.
    pub(crate) fn set_share(&mut self, unit: Unit, window: Duration, share: Option<u64>, now: Instant) {
        if (LaneSpec { unit, window, capacity: 0 }).is_in_flight() {
            self.in_flight.share = share;
        }
        let ids = self.lanes.workspace.clone();
        for i in ids {
            let lane = &mut self.lanes.lanes[i];
            if lane.spec.unit == unit && lane.spec.window == window {
                lane.share = share;
            }
        }
        self.pump(now);
    }
}
