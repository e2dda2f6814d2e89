//! What the Tekken suites share: the packed vocabulary and the text corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A path under the crate's root.
pub fn at(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// `target/tekken/tekken.bin`, which `scripts/build/tekken/pack.py` makes.
pub fn packed_tekken() -> Vec<u8> {
    let path = at("target/tekken/tekken.bin");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); build it with `python3 scripts/build/tekken/pack.py`", path.display())
    })
}

/// The files of `tests/tekken/corpus/`, by name.
pub fn corpus() -> BTreeMap<String, String> {
    let dir = at("tests/tekken/corpus");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}
