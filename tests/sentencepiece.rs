//! The SentencePiece correction table (`src/tokenizer/sentencepiece.rs`) against
//! its measurement (`tests/tekken/sentencepiece.json`, made by
//! `scripts/tekken/sentencepiece.py` with mistral-common): every measured model has
//! exactly its version's multiplier, every Tekken model none, and the measured
//! multipliers really bound every corpus file from above.
#![cfg(feature = "tekken")]

use std::path::Path;

use mistral_ratelimit::tokenizer::correction;

fn measured() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tekken/sentencepiece.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); run `python3 scripts/tekken/sentencepiece.py`", path.display())
    });
    serde_json::from_str(&text).expect("sentencepiece.json parses")
}

#[test]
fn table_matches_measured_multipliers() {
    let json = measured();
    let versions = json["versions"].as_object().expect("versions is a map");
    assert!(!versions.is_empty());
    let mut models = 0;
    for (version, entry) in versions {
        let multiplier = entry["multiplier"].as_f64().expect("multiplier is a number");
        for model in entry["models"].as_array().expect("models is a list") {
            let model = model.as_str().unwrap();
            assert_eq!(correction(model), Some(multiplier), "{model} ({version})");
            models += 1;
        }
    }
    assert!(models > 0);
    for model in json["tekken_models"].as_array().expect("tekken_models is a list") {
        let model = model.as_str().unwrap();
        assert_eq!(correction(model), None, "{model} is a Tekken model");
    }
}

#[test]
fn measured_multipliers_never_undercount() {
    let json = measured();
    for (version, entry) in json["versions"].as_object().unwrap() {
        let multiplier = entry["multiplier"].as_f64().unwrap();
        let ratios = entry["ratios"].as_object().unwrap();
        assert!(!ratios.is_empty(), "{version}");
        let mut worst = 0.0_f64;
        let mut sum = 0.0;
        for (file, r) in ratios {
            let spm = r["sentencepiece"].as_f64().unwrap();
            let tekken = r["tekken"].as_f64().unwrap();
            assert!(multiplier * tekken >= spm, "{version} {file}: {multiplier} x {tekken} < {spm}");
            let over = (multiplier * tekken - spm) / spm;
            worst = worst.max(over);
            sum += over;
        }
        let mean = sum / ratios.len() as f64;
        assert!((mean - entry["mean_overcount"].as_f64().unwrap()).abs() < 1e-4, "{version} mean");
        assert!((worst - entry["worst_overcount"].as_f64().unwrap()).abs() < 1e-4, "{version} worst");
    }
}
