//! The wasm edge: the platform's `fetch`, streams, abort signals and timers around
//! the pure core. Exposed to JS through `Client` and `EventStream`; the package's
//! JS layer (pkg-template/) builds the public API on these.
//!
//! It may import every room and none imports it: it converts between JS and Rust
//! and drives timers, fetch and streams, and decides nothing itself.

// These types hold JS handles (closures, functions, responses) that print nothing
// useful, so `Debug` would only add noise.
#![allow(missing_debug_implementations)]

mod budget;
mod call;
mod client;
mod driver;
mod error;
mod http;
mod inner;
mod js;
mod panic;
mod scope;
mod stream;
#[cfg(feature = "tekken")]
mod tokens;

use wasm_bindgen::prelude::wasm_bindgen;

pub use self::client::Client;
pub use self::stream::EventStream;

/// The crate's version, as the npm package reports it.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Tokens in `text` by the client's heuristic (which leans high), for the JS layer
/// to split work that must fit a request or a lane (`embeddings.createMany`).
#[wasm_bindgen(js_name = textTokens)]
pub fn text_tokens(text: &str) -> f64 {
    crate::client::estimate::text_tokens(text) as f64
}
