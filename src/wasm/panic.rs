//! A panic's message reaches JS before the instance traps: the hook hands it to
//! the reporter the package installed, which ends the pending calls with it and
//! starts a fresh instance (pkg-template/runtime.js).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    static REPORTER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Installs the panic hook; `report(message)` is called with each panic's message.
#[wasm_bindgen(js_name = onPanic)]
pub fn on_panic(report: js_sys::Function) {
    REPORTER.with(|r| *r.borrow_mut() = Some(report));
    std::panic::set_hook(Box::new(|info| {
        let message = JsValue::from_str(&info.to_string());
        REPORTER.with(|r| {
            if let Some(report) = r.try_borrow().ok().as_deref().and_then(Option::as_ref) {
                let _ = report.call1(&JsValue::NULL, &message);
            }
        });
    }));
}
