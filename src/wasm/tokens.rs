//! Exact Mistral token counts in JS: Tekken over a packed vocabulary. Built only
//! with the `tekken` feature, into its own wasm module that the JS layer loads on
//! the first count with the vocabulary (both separate assets, so a client that
//! never counts downloads neither). The BPE is built on the first count.

use wasm_bindgen::prelude::*;

use crate::client::Estimator;
use crate::tokenizer::Tekken;

/// A Tekken counter over a packed vocabulary (`tekken.bin` in the package).
#[wasm_bindgen]
pub struct TokenCounter {
    tekken: Tekken,
}

#[wasm_bindgen]
impl TokenCounter {
    /// Reads the packed vocabulary; fails on a file that is not one.
    #[wasm_bindgen(constructor)]
    pub fn new(packed: Vec<u8>) -> Result<TokenCounter, JsError> {
        let tekken = Tekken::from_bytes(packed).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(TokenCounter { tekken })
    }

    /// Tokens in raw text, exactly as Mistral's Tekken models count it.
    pub fn count(&self, text: &str) -> f64 {
        self.tekken.count(text) as f64
    }

    /// The prompt tokens of a request (chat or conversation): exact when its model's
    /// chat template is known and everything in it is supported (text, function
    /// tools), else its text counted exactly and its framing estimated.
    #[wasm_bindgen(js_name = countRequest)]
    pub fn count_request(&self, body: JsValue) -> Result<f64, JsError> {
        let text: String =
            js_sys::JSON::stringify(&body).map_err(|_| JsError::new("the request must be JSON-serialisable"))?.into();
        self.count_request_text(&text)
    }

    /// The same, for a request as JSON text (key order kept, as sent).
    #[wasm_bindgen(js_name = countRequestText)]
    pub fn count_request_text(&self, text: &str) -> Result<f64, JsError> {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(self.tekken.prompt_tokens_of_text(text, &json) as f64)
    }
}
