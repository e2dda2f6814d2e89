//! What the server says about its limits, read from response headers.
//!
//! Mistral publishes no header list. Captured traffic shows one family,
//! `x-ratelimit-{limit|remaining}-{req|tokens}-{window}`, with a window suffix that
//! varies by account and model (`minute`, `60-second`, `5-minute`, `month`, ...), and
//! `x-ratelimit-tokens-query-cost`. Older parsers also read
//! `x-ratelimitbysize-{limit|remaining}-{window}` (tokens) and
//! `ratelimitbysize-query-cost`; those are read too. Streams carry no such headers,
//! only JSON responses do. There is no reset header: a window is assumed to run from
//! now.
//!
//! [`parse_headers`] is pure; [`crate::Limiter::observe_server`] applies a report.

use std::time::Duration;

pub use crate::units::parse_window;
use crate::units::Unit;

/// The largest number a rate-limit header is believed for (10^15: far beyond any
/// plan), so that what the books add up from headers cannot overflow.
pub const MOST: u64 = 1_000_000_000_000_000;

/// One limit the server reported, for one unit and window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimit {
    /// Requests or tokens.
    pub unit: Unit,
    /// The window length, from the header's suffix.
    pub window: Duration,
    /// `x-ratelimit-limit-*`: the most the window allows.
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining-*`: what is left in the current window.
    pub remaining: Option<u64>,
}

/// Everything rate-related that one response's headers said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerReport {
    /// One entry per (unit, window) seen, in header order.
    pub limits: Vec<ServerLimit>,
    /// `x-ratelimit-tokens-query-cost`: the tokens the server charged for this request.
    pub query_cost: Option<u64>,
    /// Rate-limit headers whose value or window made no sense (negative, not a
    /// number, beyond `u64`, a window under a second or over a month): ignored.
    pub ignored: u32,
}

impl ServerReport {
    /// Whether the headers said nothing about limits.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.query_cost.is_none()
    }

    /// Whether some window has a limit of zero or nothing left in a month: waiting
    /// will not help within the retry budget.
    pub fn is_exhausted_for_long(&self) -> bool {
        self.limits
            .iter()
            .any(|l| l.limit == Some(0) || (l.window >= Duration::from_secs(86_400) && l.remaining == Some(0)))
    }

    /// Drops limits of 0, counting them as ignored: a reply that served the request
    /// proves the limit is not 0.
    pub fn drop_zero_limits(&mut self) {
        for l in &mut self.limits {
            if l.limit == Some(0) {
                l.limit = None;
                self.ignored += 1;
            }
        }
    }

    fn entry(&mut self, unit: Unit, window: Duration) -> &mut ServerLimit {
        let i = match self.limits.iter().position(|l| l.unit == unit && l.window == window) {
            Some(i) => i,
            None => {
                self.limits.push(ServerLimit { unit, window, limit: None, remaining: None });
                self.limits.len() - 1
            }
        };
        &mut self.limits[i]
    }
}

enum Field {
    Limit,
    Remaining,
}

/// Reads the rate-limit headers among `headers` (name, value pairs; names in any
/// case). Other headers are skipped; rate-limit headers with values or windows that
/// make no sense are ignored and counted in [`ServerReport::ignored`].
pub fn parse_headers<'a, I>(headers: I) -> ServerReport
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut report = ServerReport::default();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let is_cost = name == "x-ratelimit-tokens-query-cost" || name == "ratelimitbysize-query-cost";
        if !(is_cost || name.starts_with("x-ratelimit-") || name.starts_with("x-ratelimitbysize-")) {
            continue;
        }
        let n = value.trim().parse::<u64>().ok().filter(|&n| n <= MOST);
        if is_cost {
            match n {
                Some(n) => report.query_cost = Some(n),
                None => report.ignored += 1,
            }
            continue;
        }
        let (Some(n), Some((field, unit, window))) = (n, classify(&name)) else {
            report.ignored += 1;
            continue;
        };
        let entry = report.entry(unit, window);
        match field {
            Field::Limit => entry.limit = Some(n),
            Field::Remaining => entry.remaining = Some(n),
        }
    }
    report
}

fn classify(name: &str) -> Option<(Field, Unit, Duration)> {
    let (rest, legacy) = match name.strip_prefix("x-ratelimit-") {
        Some(rest) => (rest, false),
        None => (name.strip_prefix("x-ratelimitbysize-")?, true),
    };
    let (field, rest) = if let Some(r) = rest.strip_prefix("limit-") {
        (Field::Limit, r)
    } else {
        (Field::Remaining, rest.strip_prefix("remaining-")?)
    };
    let (unit, suffix) = if legacy {
        (Unit::Tokens, rest)
    } else if let Some(r) = rest.strip_prefix("req-") {
        (Unit::Requests, r)
    } else {
        (Unit::Tokens, rest.strip_prefix("tokens-")?)
    };
    Some((field, unit, parse_window(suffix)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::MONTH;

    #[test]
    fn a_recorded_mistral_response() {
        let headers = [
            ("content-type", "application/json"),
            ("X-RateLimit-Limit-Req-60-Second", "360"),
            ("x-ratelimit-remaining-req-60-second", "149"),
            ("x-ratelimit-limit-tokens-minute", "2000000"),
            ("x-ratelimit-remaining-tokens-minute", "1999950"),
            ("x-ratelimit-limit-tokens-month", "10000000000"),
            ("x-ratelimit-remaining-tokens-month", "9999990000"),
            ("x-ratelimit-tokens-query-cost", "50"),
        ];
        let r = parse_headers(headers);
        assert_eq!(r.query_cost, Some(50));
        assert_eq!(
            r.limits,
            vec![
                ServerLimit {
                    unit: Unit::Requests,
                    window: Duration::from_secs(60),
                    limit: Some(360),
                    remaining: Some(149)
                },
                ServerLimit {
                    unit: Unit::Tokens,
                    window: Duration::from_secs(60),
                    limit: Some(2_000_000),
                    remaining: Some(1_999_950)
                },
                ServerLimit {
                    unit: Unit::Tokens,
                    window: MONTH,
                    limit: Some(10_000_000_000),
                    remaining: Some(9_999_990_000)
                },
            ]
        );
        assert!(!r.is_exhausted_for_long());
    }

    #[test]
    fn legacy_names_and_junk() {
        let r = parse_headers([
            ("x-ratelimitbysize-limit-minute", "500000"),
            ("x-ratelimitbysize-remaining-minute", "oops"),
            ("ratelimitbysize-query-cost", "12"),
            ("x-ratelimit-limit-req-fortnight", "3"),
            ("x-ratelimit-limit-widgets-minute", "3"),
        ]);
        assert_eq!(r.ignored, 3);
        assert_eq!(r.query_cost, Some(12));
        assert_eq!(r.limits.len(), 1);
        assert_eq!(r.limits[0].unit, Unit::Tokens);
        assert_eq!(r.limits[0].limit, Some(500_000));
        assert_eq!(r.limits[0].remaining, None);
        assert!(parse_headers([("server", "cloudflare")]).is_empty());
    }

    #[test]
    fn absurd_values_and_windows_are_counted_and_ignored() {
        let r = parse_headers([
            ("x-ratelimit-limit-req-second", "-5"),
            ("x-ratelimit-limit-req-minute", "18446744073709551616000"),
            ("x-ratelimit-limit-req-10-second", "18446744073709551615"),
            ("x-ratelimit-remaining-tokens-minute", "NaN"),
            ("x-ratelimit-limit-req-4294967295-month", "1"),
            ("x-ratelimit-limit-tokens-0-second", "5"),
            ("x-ratelimit-tokens-query-cost", "1e5"),
            ("x-ratelimit-limit-tokens-minute", "100"),
            ("x-request-id", "whatever"),
        ]);
        assert_eq!(r.ignored, 7);
        assert_eq!(r.limits.len(), 1);
        assert_eq!(r.query_cost, None);
    }

    #[test]
    fn no_allowance_and_spent_month_are_long_exhaustion() {
        assert!(parse_headers([("x-ratelimit-limit-req-minute", "0")]).is_exhausted_for_long());
        assert!(parse_headers([("x-ratelimit-remaining-tokens-month", "0")]).is_exhausted_for_long());
        assert!(!parse_headers([("x-ratelimit-remaining-tokens-minute", "0")]).is_exhausted_for_long());
    }
}
