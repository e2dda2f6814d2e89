//! The SentencePiece correction table (`src/tokenizer/sentencepiece.rs`) against
//! its measurement (`tests/tekken/sentencepiece.json`, made by
//! `scripts/build/tekken/sentencepiece.py` with mistral-common): every measured model has
//! exactly its version's multipliers, every Tekken model none, the measured
//! multipliers really bound every corpus file from above, and the Tekken
//! estimator applies them to a request for such a model.
#![cfg(feature = "tekken")]

mod common;

use mistral_ratelimit::client::Estimator;
use mistral_ratelimit::tokenizer::{correction, is_latin, Tekken};

fn measured() -> serde_json::Value {
    let path = common::at("tests/tekken/sentencepiece.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); run `python3 scripts/build/tekken/sentencepiece.py`", path.display())
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
        let latin = entry["latin"]["multiplier"].as_f64().expect("latin.multiplier is a number");
        for model in entry["models"].as_array().expect("models is a list") {
            let model = model.as_str().unwrap();
            assert_eq!(correction(model, false), Some(multiplier), "{model} ({version})");
            assert_eq!(correction(model, true), Some(latin), "{model} ({version}, Latin script)");
            models += 1;
        }
    }
    assert!(models > 0);
    for model in json["tekken_models"].as_array().expect("tekken_models is a list") {
        let model = model.as_str().unwrap();
        assert_eq!(correction(model, false), None, "{model} is a Tekken model");
    }
}

#[test]
fn measured_multipliers_never_undercount() {
    let json = measured();
    for (version, entry) in json["versions"].as_object().unwrap() {
        let ratios = entry["ratios"].as_object().unwrap();
        assert!(!ratios.is_empty(), "{version}");
        check_bound(version, entry, ratios.iter().collect());
        let latin: Vec<_> = entry["latin"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let f = f.as_str().unwrap();
                (ratios.keys().find(|k| *k == f).unwrap(), &ratios[f])
            })
            .collect();
        assert!(latin.len() >= 5, "{version}: only {} Latin-script files", latin.len());
        check_bound(&format!("{version} Latin"), &entry["latin"], latin);
    }
}

/// `entry`'s multiplier bounds each of `ratios` from above, with the errors it states.
fn check_bound(version: &str, entry: &serde_json::Value, ratios: Vec<(&String, &serde_json::Value)>) {
    let multiplier = entry["multiplier"].as_f64().unwrap();
    let mut worst = 0.0_f64;
    let mut sum = 0.0;
    for (file, r) in &ratios {
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

#[test]
fn rust_and_the_measurement_agree_on_which_files_are_latin() {
    let json = measured();
    let corpus = common::corpus();
    let entry = &json["versions"]["v7"];
    let latin: Vec<&str> = entry["latin"]["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for file in entry["ratios"].as_object().unwrap().keys() {
        assert_eq!(is_latin(&corpus[file]), latin.contains(&file.as_str()), "{file}");
    }
}

#[test]
fn the_estimate_for_a_sentencepiece_model_never_undercounts_its_prompt() {
    let tekken = Tekken::from_bytes(common::packed_tekken()).unwrap();
    let corpus = common::corpus();
    let json = measured();
    let entry = &json["versions"]["v7"];
    for (file, r) in entry["ratios"].as_object().unwrap() {
        let text = &corpus[file];
        let body =
            |model: &str| serde_json::json!({ "model": model, "messages": [{ "role": "user", "content": text }] });
        let spm = r["sentencepiece"].as_u64().unwrap();
        let estimate = tekken.prompt_tokens(&body("mistral-large-2411"));
        assert!(estimate >= spm, "{file}: estimated {estimate}, SentencePiece counts {spm}");
        // A Tekken model gets the Tekken count, with no correction.
        let plain = tekken.prompt_tokens(&body("open-mistral-nemo"));
        let multiplier = correction("mistral-large-2411", is_latin(text)).unwrap();
        assert_eq!(estimate, (plain as f64 * multiplier).ceil() as u64, "{file}");
    }
}
