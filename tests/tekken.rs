//! Tekken counts against mistral-common's, exactly, on every file of
//! `tests/tekken/corpus/` (expectations in `tests/tekken/expected.json`, made by
//! `scripts/tekken/expectations.py`).
#![cfg(all(feature = "tekken", not(target_arch = "wasm32")))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mistral_ratelimit::tokenizer::Tekken;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load_tekken() -> Tekken {
    let path = root().join("target/tekken/tekken.bin");
    let packed = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); build it with `python3 scripts/tekken/pack.py`", path.display())
    });
    Tekken::from_bytes(packed).expect("tekken.bin parses")
}

fn corpus() -> BTreeMap<String, PathBuf> {
    let dir = root().join("tests/tekken/corpus");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), path)
        })
        .collect()
}

fn expected() -> BTreeMap<String, usize> {
    let path = root().join("tests/tekken/expected.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    serde_json::from_value(json["counts"].clone()).expect("counts is a map of file to count")
}

#[test]
fn counts_match_mistral_common_exactly() {
    let tekken = load_tekken();
    assert_eq!((tekken.num_ranks(), tekken.num_special_tokens()), (130_072, 1_000));
    let started = Instant::now();
    tekken.prepare().expect("the BPE builds");
    eprintln!("built the Tekken BPE in {:?}", started.elapsed());

    let files = corpus();
    let expected = expected();
    let names =
        |m: &dyn Fn(&String) -> bool| files.keys().chain(expected.keys()).filter(|n| m(n)).cloned().collect::<Vec<_>>();
    let unexpected = names(&|n| !expected.contains_key(n));
    let missing = names(&|n| !files.contains_key(n));
    assert!(
        unexpected.is_empty() && missing.is_empty(),
        "corpus and expectations differ (run `python3 scripts/tekken/expectations.py`): \
         no expectation for {unexpected:?}, no file for {missing:?}"
    );

    let mut wrong = Vec::new();
    for (name, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let (ours, theirs) = (tekken.count(&text), expected[name]);
        if ours != theirs {
            wrong.push(format!("{name}: ours {ours}, mistral-common {theirs}"));
        }
    }
    assert!(wrong.is_empty(), "counts differ:\n{}", wrong.join("\n"));
}
