//! Window names as they appear at the end of `x-ratelimit-*` headers: `second`,
//! `minute`, `60-second`, `10-second`, `5-minute`, `month`, and the like.

use std::time::Duration;

use super::MONTH;

/// The window a suffix names, or `None` when it is not a window name or lies outside
/// [`SHORTEST`] to [`LONGEST`]. A count may come before the unit, with or without a
/// dash (`5-minute`, `5minute`), and the unit may be plural or abbreviated
/// (`seconds`, `sec`, `s`, `min`, `m`, `h`, `d`).
pub fn parse_window(suffix: &str) -> Option<Duration> {
    let suffix = suffix.trim().to_ascii_lowercase();
    let digits = suffix.bytes().take_while(u8::is_ascii_digit).count();
    let (count, unit) = suffix.split_at(digits);
    let count: u64 = if count.is_empty() { 1 } else { count.parse().ok()? };
    if count == 0 {
        return None;
    }
    let unit = unit.strip_prefix('-').unwrap_or(unit);
    let one = match unit {
        "s" | "sec" | "second" | "seconds" => Duration::from_secs(1),
        "m" | "min" | "minute" | "minutes" => Duration::from_secs(60),
        "h" | "hour" | "hours" => Duration::from_secs(3600),
        "d" | "day" | "days" => Duration::from_secs(86_400),
        "month" | "months" => MONTH,
        _ => return None,
    };
    one.checked_mul(u32::try_from(count).ok()?).filter(|w| (SHORTEST..=LONGEST).contains(w))
}

/// The shortest window a server may name: Mistral's shortest is a second.
pub const SHORTEST: Duration = Duration::from_secs(1);
/// The longest: a month (a lane longer than that would never let a cost go).
pub const LONGEST: Duration = MONTH;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suffix_seen_on_the_wire() {
        let s = Duration::from_secs;
        assert_eq!(parse_window("minute"), Some(s(60)));
        assert_eq!(parse_window("60-second"), Some(s(60)));
        assert_eq!(parse_window("10-second"), Some(s(10)));
        assert_eq!(parse_window("5-minute"), Some(s(300)));
        assert_eq!(parse_window("second"), Some(s(1)));
        assert_eq!(parse_window("month"), Some(MONTH));
    }

    #[test]
    fn variants_and_garbage() {
        let s = Duration::from_secs;
        assert_eq!(parse_window("5minutes"), Some(s(300)));
        assert_eq!(parse_window("2-Hours"), Some(s(7200)));
        assert_eq!(parse_window("1d"), Some(s(86_400)));
        assert_eq!(parse_window("0-second"), None);
        assert_eq!(parse_window("fortnight"), None);
        assert_eq!(parse_window(""), None);
        assert_eq!(parse_window("99999999999999999999-second"), None);
        assert_eq!(parse_window("4294967295-month"), None, "past a month");
        assert_eq!(parse_window("2-month"), None);
        assert_eq!(parse_window("31-day"), Some(MONTH));
    }
}
