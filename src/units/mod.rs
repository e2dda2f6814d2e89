//! Units and windows: what a limit counts and how long its window runs. A leaf
//! that both the limiter and the reader of the server's headers import, so that
//! neither depends on the other for these.

mod window;

use std::time::Duration;

pub use self::window::parse_window;

/// What a lane counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Each request costs 1.
    Requests,
    /// A request costs its input plus output tokens.
    Tokens,
}

impl Unit {
    /// `"requests"` or `"tokens"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Requests => "requests",
            Unit::Tokens => "tokens",
        }
    }
}

/// Windows this long reset with the calendar on the server (a monthly quota), and
/// are never learned from 429s.
pub const LONG: Duration = Duration::from_secs(86_400);

/// How long a month lane holds a cost. Mistral's monthly cap is per calendar month;
/// every calendar month fits inside some 31-day window, so a 31-day lane never lets
/// a calendar month exceed the cap.
pub const MONTH: Duration = Duration::from_secs(31 * 24 * 3600);
