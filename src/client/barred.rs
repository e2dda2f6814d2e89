//! What the server said no wait will fix, and for how long: a spending limit
//! reached (every call of the key, until the limit resets) and a model not on the
//! plan (that model's calls). A barred call fails, or moves down its fallback
//! chain, before it is sent: a second request would only be refused again.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::{CallError, ErrorKind};
use crate::time::Instant;

/// How long a spending limit bars calls when its message says no reset time.
pub const SPENDING_PAUSE: Duration = Duration::from_secs(300);
/// The longest a stated reset is believed for: a limit resets monthly at most.
pub const LONGEST_RESET: Duration = Duration::from_secs(31 * 86_400);
/// How long a model not on the plan is barred: a plan can change, and the first
/// call after this asks again.
pub const PLAN_PAUSE: Duration = Duration::from_secs(600);

/// A reply as the server gave it: status, headers, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Its headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Its JSON body.
    pub body: String,
}

/// The answer the server gave the call that met a bar, for a call the bar ended
/// unsent (`error`): what `client.fetch` hands the caller's SDK in place of a
/// request, so that the SDK raises its own error for a 402 or a 429, not one for
/// a fetch that failed. `None` for any other error.
pub fn standing_answer(error: &CallError) -> Option<Answer> {
    let json = ("content-type".to_owned(), "application/json".to_owned());
    let body = |kind: &str, code: Option<&str>| {
        serde_json::json!({ "object": "error", "message": error.message, "type": kind, "param": null, "code": code })
            .to_string()
    };
    match error.kind {
        ErrorKind::SpendingLimit => {
            Some(Answer { status: 402, headers: vec![json], body: body("spending_limit_reached", None) })
        }
        // As the server says it: a request limit of nothing for the model.
        ErrorKind::ModelNotOnPlan => {
            let none = ("x-ratelimit-limit-req-minute".to_owned(), "0".to_owned());
            Some(Answer { status: 429, headers: vec![json, none], body: body("rate_limited", Some("1300")) })
        }
        _ => None,
    }
}

/// The bars in force.
#[derive(Clone, Debug, Default)]
pub struct Barred {
    /// The spending limit's error, and until when it holds.
    spending: Option<(CallError, Instant)>,
    /// Models not on the plan, each until when.
    models: HashMap<String, Instant>,
}

impl Barred {
    /// The error every call meets at `now`, if a spending limit holds.
    pub fn spending(&self, now: Instant) -> Option<&CallError> {
        self.spending.as_ref().filter(|(_, until)| now < *until).map(|(e, _)| e)
    }

    /// A 402 came at `now` (`wall` on the wall clock): calls are barred until the
    /// reset its message states, or for [`SPENDING_PAUSE`]. Returns the error with
    /// its reset time.
    pub fn spend_limit(&mut self, mut error: CallError, now: Instant, wall: Option<SystemTime>) -> CallError {
        let reset = reset_in(&error.message).map(|(text, at)| (text.to_owned(), at));
        let left = reset
            .as_ref()
            .zip(wall)
            .map(|((_, at), wall)| at.duration_since(wall).unwrap_or(Duration::ZERO).min(LONGEST_RESET))
            .unwrap_or(SPENDING_PAUSE);
        error.reset_at = reset.map(|(text, _)| text);
        self.spending = Some((error.clone(), now + left));
        error
    }

    /// Whether `model` is barred at `now`.
    pub fn model(&self, model: Option<&str>, now: Instant) -> bool {
        model.and_then(|m| self.models.get(m)).is_some_and(|until| now < *until)
    }

    /// `model` is not on the plan, as of `now`.
    pub fn not_on_plan(&mut self, model: &str, now: Instant) {
        self.models.retain(|_, until| now < *until);
        self.models.insert(model.to_owned(), now + PLAN_PAUSE);
    }
}

/// The first RFC 3339 time in `text` (`2027-01-01T00:00:00Z`, with a fraction or an
/// offset), as written and as a time.
fn reset_in(text: &str) -> Option<(&str, SystemTime)> {
    text.char_indices().find_map(|(start, _)| {
        let rest = &text[start..];
        let len = rfc3339_len(rest.as_bytes())?;
        Some((&rest[..len], rfc3339(&rest[..len])?))
    })
}

/// The length of an RFC 3339 time at the start of `b`, by its shape alone.
fn rfc3339_len(b: &[u8]) -> Option<usize> {
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut end = 19;
    if b.get(end) == Some(&b'.') {
        end += 1 + b[end + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
    }
    match b.get(end) {
        Some(b'Z' | b'z') => Some(end + 1),
        Some(b'+' | b'-') if digits(end + 1..end + 3) && b.get(end + 3) == Some(&b':') && digits(end + 4..end + 6) => {
            Some(end + 6)
        }
        _ => None,
    }
}

/// An RFC 3339 time of the shape [`rfc3339_len`] accepts, as a time.
fn rfc3339(s: &str) -> Option<SystemTime> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hour, minute, second) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = match s.as_bytes()[s.len() - 1] {
        b'Z' | b'z' => 0,
        _ => {
            let sign = if s.as_bytes()[s.len() - 6] == b'-' { -1 } else { 1 };
            sign * (n(s.len() - 5..s.len() - 3)? * 3600 + n(s.len() - 2..s.len())? * 60)
        }
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's method).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok().map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn unix(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_barred_call_is_answered_as_the_server_answered_the_one_that_met_the_bar() {
        let spent = CallError::new(
            ErrorKind::SpendingLimit,
            "Spending limit reached (not sent: an earlier call met this limit)",
        );
        let a = standing_answer(&spent).unwrap();
        assert_eq!(a.status, 402);
        let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(
            (body["type"].as_str(), body["message"].as_str()),
            (Some("spending_limit_reached"), Some(spent.message.as_str()))
        );
        let off =
            standing_answer(&CallError::new(ErrorKind::ModelNotOnPlan, "model 'x' is not on this workspace's plan"))
                .unwrap();
        assert_eq!(off.status, 429);
        assert!(off.headers.contains(&("x-ratelimit-limit-req-minute".to_owned(), "0".to_owned())));
        assert_eq!(standing_answer(&CallError::new(ErrorKind::RateLimit, "too fast")), None);
    }

    #[test]
    fn times_in_a_message() {
        // 2027-01-01T00:00:00Z is unix 1798761600.
        let (text, time) = reset_in("Spending limit reached; it resets at 2027-01-01T00:00:00Z.").unwrap();
        assert_eq!((text, time), ("2027-01-01T00:00:00Z", unix(1_798_761_600)));
        assert_eq!(reset_in("resets 2027-01-01T01:00:00.250+01:00").unwrap().1, unix(1_798_761_600));
        assert_eq!(reset_in("2026-12-06T23:59:59-00:30 then").unwrap().1, unix(1_796_601_599 + 1800));
        assert_eq!(reset_in("no time here"), None);
        assert_eq!(reset_in("2027-13-01T00:00:00Z"), None, "no thirteenth month");
        assert_eq!(reset_in("2027-01-01T00:00:00"), None, "no zone, no time");
        assert_eq!(reset_in("é2027-01-01T00:00:00Zé").map(|r| r.0), Some("2027-01-01T00:00:00Z"));
        assert_eq!(reset_in("1969-12-31T23:59:59Z"), None, "before the epoch");
    }

    #[test]
    fn a_spending_limit_bars_until_its_stated_reset_or_a_pause() {
        let limit = CallError::new(ErrorKind::SpendingLimit, "limit reached; it resets at 1970-01-01T01:00:00Z");
        let mut b = Barred::default();
        b.spend_limit(limit.clone(), at(0), Some(unix(1800)));
        assert_eq!(b.spending(at(1_799_000)).unwrap().reset_at.as_deref(), Some("1970-01-01T01:00:00Z"));
        assert!(b.spending(at(1_800_000)).is_none(), "half an hour later it reset");
        b.spend_limit(CallError::new(ErrorKind::SpendingLimit, "limit reached"), at(0), Some(unix(1800)));
        assert!(b.spending(at(SPENDING_PAUSE.as_millis() as u64 - 1)).is_some());
        b.spend_limit(limit, at(0), None);
        assert!(b.spending(at(SPENDING_PAUSE.as_millis() as u64)).is_none(), "no wall clock: the pause");
    }

    #[test]
    fn a_model_not_on_the_plan_is_barred_for_a_while() {
        let mut b = Barred::default();
        b.not_on_plan("m", at(0));
        assert!(b.model(Some("m"), at(1)));
        assert!(!b.model(Some("n"), at(1)));
        assert!(!b.model(None, at(1)));
        assert!(!b.model(Some("m"), at(PLAN_PAUSE.as_millis() as u64)));
    }
}
