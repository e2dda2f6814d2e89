//! Exact Mistral token counts in JS: Tekken over a packed vocabulary the JS layer
//! loads on demand (it is a separate asset, so a client that never counts never
//! downloads it). The BPE is built on the first count, never at load.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::client::Estimator;
use crate::tokenizer::Tekken;

/// A Tekken counter over a packed vocabulary (`tekken.bin` in the package).
#[wasm_bindgen]
pub struct TokenCounter {
    tekken: Rc<Tekken>,
}

#[wasm_bindgen]
impl TokenCounter {
    /// Reads the packed vocabulary; fails on a file that is not one.
    #[wasm_bindgen(constructor)]
    pub fn new(packed: Vec<u8>) -> Result<TokenCounter, JsError> {
        let tekken = Tekken::from_bytes(packed).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(TokenCounter { tekken: Rc::new(tekken) })
    }

    /// Tokens in raw text, exactly as Mistral's Tekken models count it.
    pub fn count(&self, text: &str) -> f64 {
        self.tekken.count(text) as f64
    }

    /// The prompt tokens of a request body (chat or conversation): exact when its
    /// model's chat template is known and everything in it is supported (text,
    /// function tools), else its text counted exactly and its framing estimated.
    #[wasm_bindgen(js_name = countRequest)]
    pub fn count_request(&self, body: JsValue) -> Result<f64, JsError> {
        let text: String =
            js_sys::JSON::stringify(&body).map_err(|_| JsError::new("the request must be JSON-serialisable"))?.into();
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(self.tekken.prompt_tokens_of_text(&text, &json) as f64)
    }
}

impl TokenCounter {
    pub(crate) fn tekken(&self) -> Rc<dyn Estimator> {
        self.tekken.clone()
    }
}
