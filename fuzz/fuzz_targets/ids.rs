//! Ids from callers (conversations, agents, versions, models): `check_id` and the
//! paths they build.
//!
//! Invariants: no panic; an id accepted makes the path `/v1/conversations/{id}`
//! exactly, and holds nothing a URL would read as structure or re-encode (`/`, `?`,
//! `#`, `%`, `\`, whitespace, control or non-ASCII characters), is not `.` or `..`,
//! is not empty and is at most `MAX_ID_LEN` bytes; an id refused says "id" in its
//! message. Every operation agrees with `check_id` on each of its ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mistral_ratelimit::client::operation::{check_id, MAX_ID_LEN};
use mistral_ratelimit::client::Kind;

fuzz_target!(|s: &str| {
    let checked = check_id(s);
    let path = Kind::ConversationDelete.path_for(&[s]);
    assert_eq!(checked.is_ok(), path.is_ok(), "check_id and path_for disagree on {s:?}");
    match path {
        Ok(p) => {
            assert_eq!(p, format!("/v1/conversations/{s}"));
            assert_eq!(p.strip_prefix("/v1/conversations/"), Some(s));
            assert!(!s.is_empty(), "an empty id accepted");
            assert!(s.len() <= MAX_ID_LEN, "{} bytes accepted", s.len());
            assert!(s != "." && s != "..", "{s:?} accepted");
            assert!(s.is_ascii(), "non-ASCII accepted: {s:?}");
            for c in s.chars() {
                assert!(
                    !matches!(c, '/' | '?' | '#' | '%' | '\\') && !c.is_whitespace() && !c.is_control(),
                    "{c:?} accepted in {s:?}"
                );
            }
        }
        Err(e) => {
            assert!(e.contains("id"), "message without \"id\": {e:?} for {s:?}");
            assert_eq!(Err(e), checked, "path_for's refusal is check_id's");
        }
    }
    for k in Kind::all() {
        let ids = vec![s; k.ids()];
        let p = k.path_for(&ids);
        if ids.is_empty() {
            assert_eq!(p, Ok(k.path(&[])), "{k:?} takes no id");
        } else {
            assert_eq!(p.is_ok(), checked.is_ok(), "{k:?} disagrees on {s:?}");
            if let Ok(p) = p {
                assert!(p.matches(s).count() >= ids.len(), "{k:?}: {p}");
                assert_eq!(p, k.path(&ids));
            }
        }
    }
});
