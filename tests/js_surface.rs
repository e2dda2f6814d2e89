//! The JS layer and its declarations name what the core names: one list each of
//! operations, events, error kinds and options, here held to `pkg-template/`.

use std::collections::BTreeSet;

use mistral_ratelimit::client::call_options::CALL_OPTION_KEYS;
use mistral_ratelimit::client::options::OPTION_KEYS;
use mistral_ratelimit::client::{ErrorKind, Event, Kind};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

/// The quoted strings that follow each occurrence of `before` in `text`.
fn quoted_after(text: &str, before: &str) -> BTreeSet<String> {
    text.match_indices(before)
        .filter_map(|(i, _)| {
            let rest = &text[i + before.len()..];
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

/// The text of the block that starts at `header` and ends at the first line that
/// is `end` (trimmed).
fn block<'a>(text: &'a str, header: &str, end: &str) -> &'a str {
    let start = text.find(header).unwrap_or_else(|| panic!("no {header}"));
    let body = &text[start..];
    let stop = body.lines().skip(1).position(|l| l.trim() == end).expect("block end");
    let len: usize = body.lines().take(stop + 1).map(|l| l.len() + 1).sum();
    &body[..len]
}

/// The property names declared in an interface body (`name?:` or `name:`).
fn keys(interface: &str) -> BTreeSet<String> {
    interface
        .lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim();
            let name = l.split([':', '?']).next()?;
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())).then(|| name.to_owned())
        })
        .collect()
}

/// Every double-quoted string in `text`, in order.
fn quoted(text: &str) -> Vec<String> {
    text.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

#[test]
fn the_js_layer_calls_every_operation_and_no_other() {
    let js = read("pkg-template/client.js");
    let mut called = BTreeSet::new();
    for caller in ["call(", "stream(", "whole(", "completions("] {
        called.extend(quoted_after(&js, caller));
    }
    // Routes no method names reach the client through client.fetch.
    let named = Kind::all().map(Kind::js_name).filter(|n| !n.starts_with("fetch."));
    assert_eq!(called, set(named));
    assert!(js.contains(".fetchCall("), "client.fetch sends through the client");
}

#[test]
fn the_declared_events_are_the_events() {
    let dts = read("pkg-template/index.d.ts");
    let union = block(&dts, "export type ClientEvent =", "");
    assert_eq!(quoted_after(union, "type: "), set(Event::NAMES.iter().copied()));
}

#[test]
fn every_error_kind_has_a_class_in_js_and_in_the_declarations() {
    let names = set(ErrorKind::ALL.iter().map(|k| k.name()));
    let js = read("pkg-template/client.js");
    let dts = read("pkg-template/index.d.ts");
    let classes = |text: &str, prefix: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|l| l.contains("extends MistralRatelimitError"))
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    assert_eq!(classes(&js, "export class "), names);
    assert_eq!(classes(&dts, "export declare class "), names);
    let union = block(&dts, "export type ErrorName =", "");
    assert_eq!(union.matches('"').count() / 2, names.len());
    for name in &names {
        assert!(union.contains(&format!("\"{name}\"")), "ErrorName lacks {name}");
        assert!(js.contains(&format!("{name},")) || js.contains(&format!("{name} }}")), "classes lacks {name}");
    }
}

#[test]
fn the_declared_error_codes_are_the_codes_the_core_gives() {
    let dts = read("pkg-template/index.d.ts");
    // In the same order, so that a name and its code stand at the same place.
    let names = quoted(block(&dts, "export type ErrorName =", ""));
    assert_eq!(names, ErrorKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>());
    let codes = quoted(block(&dts, "export type ErrorCode =", ""));
    assert_eq!(codes, ErrorKind::ALL.iter().map(|k| k.code()).collect::<Vec<_>>());
    let base = block(&dts, "export declare class MistralRatelimitError extends Error {", "}");
    assert!(base.contains("  code: ErrorCode;"), "MistralRatelimitError.code is an ErrorCode");
    // The errors the JS layer makes itself carry the core's codes.
    let js = read("pkg-template/client.js");
    let made = quoted_after(&js, "code: ");
    assert!(!made.is_empty() && made.is_subset(&codes.iter().cloned().collect()), "{made:?}");
}

#[test]
fn only_the_workers_entry_offers_the_durable_object() {
    let index = read("pkg-template/index.d.ts");
    let worker = read("pkg-template/worker.d.ts");
    assert!(!index.contains("class MistralBudget"), "index.d.ts declares MistralBudget for every entry");
    assert!(worker.contains("export declare class MistralBudget {"));
    assert!(worker.contains("export * from \"./index.js\";"), "worker.d.ts has the rest of the package");
    assert!(read("pkg-template/worker.js").contains("export { MistralBudget }"));
    for entry in ["index.js", "node.js"] {
        assert!(!read(&format!("pkg-template/{entry}")).contains("MistralBudget"), "{entry} exports MistralBudget");
    }
    // Both ways a Worker imports it are typed by worker.d.ts.
    let package = read("pkg-template/package.json");
    let manifest: serde_json::Value = serde_json::from_str(&package).expect("package.json");
    let exports = &manifest["exports"];
    assert_eq!(exports["."]["workerd"]["types"], "./worker.d.ts");
    assert_eq!(exports["."]["workerd"]["default"], "./worker.js");
    assert_eq!(exports["./worker"]["types"], "./worker.d.ts");
    assert_eq!(exports["./worker"]["default"], "./worker.js");
    let files = manifest["files"].as_array().expect("files");
    assert!(files.iter().any(|f| f == "worker.d.ts"), "the tarball holds worker.d.ts");
}

#[test]
fn the_declared_options_are_the_options() {
    let dts = read("pkg-template/index.d.ts");
    let client = keys(block(&dts, "export interface ClientOptions {", "}"));
    // onEvent, onAlert, prices, tokenizer and budget are the JS layer's own.
    let mut core = set(OPTION_KEYS.iter().copied());
    core.extend(set(["onEvent", "onAlert", "prices", "tokenizer", "budget"]));
    assert_eq!(client, core);
    let call = keys(block(&dts, "export interface CallOptions {", "}"));
    assert_eq!(call, set(CALL_OPTION_KEYS.iter().copied()));
}

/// A lease's bounds and the ask timeout are the core's: the JS layer asks the
/// module, and the declarations state the core's figures.
#[test]
fn lease_bounds_and_the_ask_timeout_are_kept_by_the_core_alone() {
    use mistral_ratelimit::budget::{CoordinatorPolicy, LEASE_MS};
    let stated =
        format!("({} to {}, default {})", LEASE_MS.start(), LEASE_MS.end(), CoordinatorPolicy::default().lease_ms);
    let dts = read("pkg-template/index.d.ts");
    let lines: Vec<&str> = dts.lines().filter(|l| l.contains("How long a lease lasts")).collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.contains(&stated)), "{lines:?} should say {stated}");
    for file in ["client.js", "durable-budget.js", "tabs-budget.js", "redis-budget.js", "budget-coordinator.js"] {
        let js = read(&format!("pkg-template/{file}"));
        for figure in ["3600000", "3_600_000", "6000", "5000"] {
            assert!(!js.contains(figure), "pkg-template/{file} holds {figure}: ask the module");
        }
    }
    assert!(read("pkg-template/client.js").contains("leaseMsProblem("));
    assert!(read("pkg-template/durable-budget.js").contains("leaseMsProblem("));
    assert!(read("pkg-template/tabs-budget.js").contains("askTimeoutMs()"));
}

/// The names at the top level of an interface body (two spaces in).
fn top_keys(interface: &str) -> BTreeSet<String> {
    interface
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| {
            let name = l.trim().split([':', '?']).next()?;
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())).then(|| name.to_owned())
        })
        .collect()
}

/// The keys of a JSON object.
fn json_keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// `status()`, its lanes and budget, and `metrics()` are shaped in the core
/// (`client::views`, `budget::views`); the declarations name what they hold.
#[test]
fn the_declared_status_and_metrics_are_the_views() {
    use mistral_ratelimit::budget::{BudgetView, Holder};
    use mistral_ratelimit::client::{ClientState, MetricsView, StatusView};
    use mistral_ratelimit::{Instant, LaneSpec, Limiter, LimiterConfig};

    let limiter = Limiter::new(LimiterConfig { lanes: vec![LaneSpec::tokens_per_minute(1000)], ..Default::default() });
    let budget = BudgetView::of("org", &mut Holder::new("org/1"), Instant::ZERO);
    let state = ClientState::new(limiter);
    let status = serde_json::to_value(StatusView::of(&state, Some(budget), Instant::ZERO)).unwrap();
    let metrics = serde_json::to_value(MetricsView::of(&state)).unwrap();
    let dts = read("pkg-template/index.d.ts");
    let declared = |name: &str| top_keys(block(&dts, &format!("export interface {name} {{"), "}"));
    assert_eq!(declared("ClientStatus"), json_keys(&status));
    assert_eq!(declared("LaneStatus"), json_keys(&status["lanes"][0]));
    assert_eq!(declared("BudgetStatus"), json_keys(&status["budget"]));
    assert_eq!(declared("ClientMetrics"), json_keys(&metrics));
    // The JS layer adds the cost from its price table.
    let mut figures = json_keys(&metrics["overall"]);
    figures.insert("costUsd".into());
    assert_eq!(declared("CallMetrics"), figures);
    // Prometheus and OpenTelemetry export every figure: those in metrics.js's
    // lists, and those it labels by hand (errors by class, tokens by direction,
    // calls by tier, the cost); the share of 429s is derived from two of them.
    let js = read("pkg-template/metrics.js");
    let mut exported: BTreeSet<String> = ["COUNTERS = [", "TIMINGS = ["]
        .iter()
        .flat_map(|list| block(&js, &format!("export const {list}"), "];").lines().skip(1).map(quoted))
        .filter_map(|q| q.get(1).cloned())
        .collect();
    exported.extend(set(["errors", "tokensIn", "tokensOut", "tiers", "costUsd", "rateLimitedShare"]));
    assert_eq!(exported, figures);
}
