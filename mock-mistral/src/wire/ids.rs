//! Identifiers and timestamps in the formats the API uses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mistral_ratelimit::retry::SplitMix64;

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh 64-bit value: a counter and the clock, scrambled.
fn unique() -> u64 {
    SplitMix64::new(COUNTER.fetch_add(1, Ordering::Relaxed) ^ unix_nanos()).next_u64()
}

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// An id like `conv_0684fe18...`: a prefix and 32 hex digits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", unique(), unique())
}

/// A chat completion id: 32 hex digits, no prefix.
pub fn completion_id() -> String {
    new_id("")
}

/// A UUIDv7, as `mistral-correlation-id` carries.
pub fn correlation_id() -> String {
    let ms = unix_nanos() / 1_000_000;
    let r = unique();
    let r2 = unique();
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        r & 0xfff,
        0x8000 | ((r >> 12) & 0x3fff),
        r2 & 0xffff_ffff_ffff
    )
}

/// Seconds since the epoch, for `created`.
pub fn unix_seconds() -> u64 {
    unix_nanos() / 1_000_000_000
}

/// Now as RFC 3339 with microseconds and `Z`, e.g. `2025-06-16T09:19:56.901953Z`.
pub fn now_rfc3339() -> String {
    rfc3339(unix_nanos() / 1000)
}

/// `micros` since the epoch as RFC 3339 (UTC).
pub fn rfc3339(micros: u64) -> String {
    let secs = micros / 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z", rem / 3600, rem % 3600 / 60, rem % 60, micros % 1_000_000)
}

/// The first instant of the month after the one `unix_seconds` falls in, as
/// RFC 3339 (UTC): when a monthly allowance starts afresh.
pub fn first_of_next_month(unix_seconds: u64) -> String {
    let (y, m, _) = civil_from_days((unix_seconds / 86_400) as i64);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    format!("{y:04}-{m:02}-01T00:00:00Z")
}

/// Whether `s` is an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction, then `Z` or an offset `±HH:MM`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    // Digits at `at..at + len` whose value is in `range`.
    let num = |at: usize, len: usize, range: std::ops::RangeInclusive<u32>| {
        b.get(at..at + len).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && s[at..at + len].parse().is_ok_and(|n| range.contains(&n))
    };
    let is = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    let date = num(0, 4, 0..=9999) && is(4, b"-") && num(5, 2, 1..=12) && is(7, b"-") && num(8, 2, 1..=31);
    let time = is(10, b"Tt") && num(11, 2, 0..=23) && is(13, b":") && num(14, 2, 0..=59) && is(16, b":");
    if !(date && time && num(17, 2, 0..=60)) {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    let offset = s.len() - rest.len();
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && is(offset, b"+-")
            && num(offset + 1, 2, 0..=23)
            && is(offset + 3, b":")
            && num(offset + 4, 2, 0..=59))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (eras of 400 years).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // 2025-06-16T09:19:56.901953Z
        assert_eq!(rfc3339(1_750_065_596_901_953), "2025-06-16T09:19:56.901953Z");
        // A leap day.
        assert_eq!(rfc3339(1_709_164_800_000_000), "2024-02-29T00:00:00.000000Z");
    }

    #[test]
    fn next_month_starts_on_its_first_and_a_year_turns_in_december() {
        // 2025-06-16T09:19:56Z
        assert_eq!(first_of_next_month(1_750_065_596), "2025-07-01T00:00:00Z");
        // 2024-12-31T23:59:59Z
        assert_eq!(first_of_next_month(1_735_689_599), "2025-01-01T00:00:00Z");
        assert!(is_rfc3339(&first_of_next_month(0)));
    }

    #[test]
    fn rfc3339_date_times_are_told_from_the_rest() {
        for ok in [
            "2027-01-01T00:00:00Z",
            "2025-06-16T09:19:56.901953Z",
            "2026-12-31T23:59:60+01:00",
            "2026-02-03t04:05:06-07:30",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2027-01-01",
            "2027-01-01T00:00:00",
            "2027-13-01T00:00:00Z",
            "2027-00-10T00:00:00Z",
            "2027-01-01T24:00:00Z",
            "2027-01-01T00:00:00.Z",
            "2027-01-01T00:00:00+0100",
            "2027-01-01 00:00:00Z",
            "2027-01-01T00:00:00Zjunk",
            "２０２７-01-01T00:00:00Z",
            "2027",
            "2027-01-01T00:00:00+01:0é",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn ids_have_their_shape() {
        let id = new_id("conv_");
        assert!(id.starts_with("conv_") && id.len() == 37);
        assert_ne!(id, new_id("conv_"));
        let u = correlation_id();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "7");
    }
}
