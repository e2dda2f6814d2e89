//! The JavaScript face of the crate. The client itself arrives with the wasm edge;
//! for now the module exposes its version, which the package and its tests check.

use wasm_bindgen::prelude::wasm_bindgen;

/// The crate's version, as the npm package reports it.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
