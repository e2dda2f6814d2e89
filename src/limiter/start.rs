//! How a lane whose limit no reply has stated starts spending: half, then a rise
//! to the whole, paced by the first replies (see [`Start`]).

use std::time::Duration;

use crate::time::Instant;

/// How much of a configured limit that no reply has stated a client that has
/// just started spends. A limit configured too high would otherwise show itself
/// as a whole window's excess refused at once (a minute's worth, on a token
/// lane), before any reply could say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// The whole limit.
    Full,
    /// Half, until the first request leaves.
    Half,
    /// From half to the whole in [`RISE_STEPS`] steps, the first `from` of them
    /// taken before `since` and one more every `step` after it; `heard` once a
    /// reply paces it. A limit that is too high meets its first 429 a step or
    /// two past the real one, not a burst past it.
    Rising { since: Instant, step: Duration, from: u32, done: u32, heard: bool },
    /// The whole limit, which the rise found at `at` by a 429: refusals of
    /// requests that left before then are of the rise too, and read late.
    Found { at: Instant },
}

/// The steps of [`Start::Rising`].
const RISE_STEPS: u32 = 16;

impl Start {
    /// What of `capacity` may be spent.
    pub(crate) fn limit(self, capacity: u64) -> u64 {
        let half = capacity.div_ceil(2);
        match self {
            Start::Full | Start::Found { .. } => capacity,
            Start::Half => half,
            // A unit goes at the first step of its share of the steps, not the
            // last: units stay as far apart, and on a lane of a few units (5
            // requests/s) the first past half does not wait half the rise.
            Start::Rising { done, .. } => half + ((capacity - half) * u64::from(done)).div_ceil(u64::from(RISE_STEPS)),
        }
    }

    /// A request left at `now`, before any reply: half rises by one unit of
    /// `capacity` every `unit` (twice the arrival margin: a connection set-up's
    /// round trip while warming up, or more while the event loop lags, the only
    /// round trip known yet), so that the 429 for a unit too many is back before the
    /// next unit goes; limits of many units (tokens) in [`RISE_STEPS`] steps of
    /// `unit`. Never faster than after a reply: over a quarter of `window` at
    /// least. A longer `unit` than the rise has slows it from `now`.
    pub(crate) fn sent(self, now: Instant, window: Duration, capacity: u64, unit: Duration) -> Start {
        let units = (capacity - capacity.div_ceil(2)).clamp(1, u64::from(RISE_STEPS)) as u32;
        let step = (unit * units / RISE_STEPS).max(window / 4 / RISE_STEPS).max(Duration::from_micros(1));
        match self.rise(now) {
            Start::Half => Start::Half.repaced(now, step, false),
            rising @ Start::Rising { step: before, heard: false, .. } if step > before => {
                rising.repaced(now, step, false)
            }
            other => other,
        }
    }

    /// The first reply came: the rise goes on from `now` and the level it
    /// reached (time before the reply never counts at the reply's pace), over a quarter
    /// of `window`, or slower: the steps are at least a quarter of the reply's
    /// `round_trip` apart (and at most a quarter window), so that the 429 for a
    /// step too far comes back before many more. On a busy event loop replies
    /// come back late, and a rise timed by the clock alone would run many steps
    /// past the limit before its first 429 was read. A quarter: the first reply
    /// also paid for setting up its connection and for the start's burst, which
    /// a 429 later does not (measured on a loaded machine: first replies after
    /// 650 ms, 429s after 150 ms), and each step slower costs a limit that is
    /// right a little more.
    pub(crate) fn heard(self, now: Instant, window: Duration, round_trip: Duration) -> Start {
        let quarter = window / 4;
        let step = (quarter / RISE_STEPS).max((round_trip / 4).min(quarter));
        match self.rise(now) {
            unheard @ (Start::Half | Start::Rising { heard: false, .. }) => unheard.repaced(now, step, true),
            other => other,
        }
    }

    /// A rise (as of `now`) going on from the level it reached, a step every
    /// `step` from `now`: time before never counts at the new pace.
    fn repaced(self, now: Instant, step: Duration, heard: bool) -> Start {
        let done = match self {
            Start::Rising { done, .. } => done,
            _ => 0,
        };
        Start::Rising { since: now, step, from: done, done, heard }
    }

    /// Whether no reply has paced it yet.
    pub(crate) fn unheard(self) -> bool {
        matches!(self, Start::Half | Start::Rising { heard: false, .. })
    }

    /// The rise as of `now`: steps done, and the whole once they all are.
    pub(crate) fn rise(self, now: Instant) -> Start {
        match self {
            Start::Rising { since, step, from, heard, .. } => {
                let done = from.saturating_add(((now - since).as_secs_f64() / step.as_secs_f64()) as u32);
                match done {
                    d if d >= RISE_STEPS => Start::Full,
                    d => Start::Rising { since, step, from, done: d, heard },
                }
            }
            other => other,
        }
    }

    /// When the next step is due, while rising.
    pub(crate) fn next_step(self) -> Option<Instant> {
        match self {
            Start::Rising { since, step, from, done, .. } => Some(since + step * (done - from + 1)),
            _ => None,
        }
    }
}
