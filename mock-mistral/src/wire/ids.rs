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
    fn ids_have_their_shape() {
        let id = new_id("conv_");
        assert!(id.starts_with("conv_") && id.len() == 37);
        assert_ne!(id, new_id("conv_"));
        let u = correlation_id();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "7");
    }
}
