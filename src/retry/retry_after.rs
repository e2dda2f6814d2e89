//! How long the server asked us to wait: `retry-after-ms`, or `Retry-After` as
//! seconds or as an HTTP date.

use std::time::{Duration, SystemTime};

use crate::headers::Headers;

/// The wait the server asked for, if it asked.
///
/// `retry-after-ms` wins when present (fractions allowed). `Retry-After` may be a
/// number of seconds (a fraction such as `1.5` is accepted rather than ignored) or an
/// HTTP date. A date is measured against the response's own `Date` header when it
/// has one, which cancels any skew between the server's clock and ours, else against
/// `wall_clock`. A date in the past means "now". Negative, non-finite and unparsable
/// values are ignored.
pub fn retry_after(headers: &(impl Headers + ?Sized), wall_clock: Option<SystemTime>) -> Option<Duration> {
    if let Some(ms) = headers.header("retry-after-ms").and_then(non_negative) {
        return Some(at_most_a_day(ms / 1000.0));
    }
    let value = headers.header("retry-after")?.trim();
    if let Some(secs) = non_negative(value) {
        return Some(at_most_a_day(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let reference = headers.header("date").and_then(|d| httpdate::parse_http_date(d).ok()).or(wall_clock)?;
    Some(at.duration_since(reference).unwrap_or(Duration::ZERO).min(DAY))
}

/// The longest wait a server is taken at its word for, in any of the three forms.
const DAY: Duration = Duration::from_secs(86_400);

fn at_most_a_day(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.min(DAY.as_secs_f64()))
}

/// A finite number of 0 or more (`Duration::from_secs_f64` panics on the others).
fn non_negative(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn milliseconds_win_over_seconds() {
        let h = [("Retry-After-Ms", "250.5"), ("retry-after", "7")];
        assert_eq!(retry_after(&h, None), Some(Duration::from_micros(250_500)));
    }

    #[test]
    fn seconds_whole_or_fractional() {
        assert_eq!(retry_after(&[("retry-after", "3")], None), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&[("retry-after", " 1.5 ")], None), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&[("retry-after", "-2")], None), None);
        assert_eq!(retry_after(&[("retry-after", "NaN")], None), None);
        assert_eq!(retry_after(&[("retry-after", "1e300")], None), Some(DAY));
        assert_eq!(retry_after(&[("retry-after-ms", "1e300")], None), Some(DAY));
    }

    #[test]
    fn http_dates_use_the_servers_clock_when_given() {
        // 1994-11-06 08:49:37 GMT is unix 784111777.
        let h = [("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Date", "Sun, 06 Nov 1994 08:49:30 GMT")];
        // Our clock is an hour off; the server's own Date is used.
        assert_eq!(retry_after(&h, Some(at(784_111_777 - 3600))), Some(Duration::from_secs(7)));
        let h = [("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")];
        assert_eq!(retry_after(&h, Some(at(784_111_770))), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&h, Some(at(784_111_790))), Some(Duration::ZERO));
        assert_eq!(retry_after(&h, None), None, "no reference clock, no answer");
        assert_eq!(retry_after(&[("retry-after", "soon")], Some(at(0))), None);
        let ten_years = [("Retry-After", "Sat, 06 Nov 2004 08:49:37 GMT")];
        assert_eq!(retry_after(&ten_years, Some(at(784_111_777))), Some(DAY), "a date is held to a day too");
    }
}
