//! One HTTP attempt over the platform's `fetch`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestInit, Response};

use super::js;

/// What to send.
pub struct HttpRequest<'a> {
    pub method: &'static str,
    pub url: &'a str,
    pub api_key: Option<&'a str>,
    /// Headers to send instead of ours (`client.fetch` passes the caller's on).
    pub headers: Option<&'a JsValue>,
    pub body: Option<&'a JsValue>,
    pub stream: bool,
}

/// A response whose head has arrived; the body is still to read.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub raw: Response,
}

/// Why no response arrived.
#[derive(Debug)]
pub enum NoResponse {
    /// Nothing reached the server (refused, unresolvable).
    Unreachable(String),
    /// The connection failed in a way that leaves open whether the server got it.
    Interrupted(String),
    /// Our abort signal fired.
    Stopped,
}

/// Sends `req`; `signal` aborts it.
pub async fn send(req: &HttpRequest<'_>, signal: &AbortSignal) -> Result<HttpResponse, NoResponse> {
    let init = init(req, signal);
    let pending = js::fetch(req.url, &init).map_err(|e| NoResponse::Interrupted(describe(&e)))?;
    let raw = match JsFuture::from(pending).await {
        Ok(r) => r.unchecked_into::<Response>(),
        Err(_) if signal.aborted() => return Err(NoResponse::Stopped),
        Err(e) => return Err(classify(&e)),
    };
    Ok(HttpResponse { status: raw.status(), headers: headers(&raw.headers()), raw })
}

/// The options of `fetch`: headers as a plain object, which costs less than a
/// `Headers` instance.
fn init(req: &HttpRequest<'_>, signal: &AbortSignal) -> RequestInit {
    let init = RequestInit::new();
    init.set_method(req.method);
    if let Some(body) = req.body {
        init.set_body(body);
    }
    init.set_signal(Some(signal));
    if let Some(headers) = req.headers {
        init.set_headers(headers);
        return init;
    }
    let accept = if req.stream { "text/event-stream" } else { "application/json" };
    let key = req.api_key.map(|k| JsValue::from_str(&format!("Bearer {k}")));
    let json = req.body.map(|_| JsValue::from_str("application/json"));
    let headers = js::object(&[
        ("accept", JsValue::from_str(accept)),
        ("authorization", key.unwrap_or(JsValue::UNDEFINED)),
        ("content-type", json.unwrap_or(JsValue::UNDEFINED)),
    ]);
    init.set_headers(&headers);
    init
}

/// Reads the whole body as text.
pub async fn text(res: &Response) -> Result<JsValue, NoResponse> {
    let promise = res.text().map_err(|e| NoResponse::Interrupted(describe(&e)))?;
    JsFuture::from(promise).await.map_err(|e| classify(&e))
}

/// The most of an error body that is read: enough for any error Mistral sends; a
/// server that sends 50 MB is not waited for.
pub const ERROR_BODY_CAP: usize = 64 * 1024;

/// Reads at most `cap` bytes of the body as text, then lets the rest go.
pub async fn text_capped(res: &Response, cap: usize) -> Result<JsValue, NoResponse> {
    let Some(body) = res.body() else { return Ok(JsValue::from_str("")) };
    let reader: web_sys::ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|e| NoResponse::Interrupted(describe(&e)))?;
    let mut bytes = Vec::new();
    while bytes.len() < cap {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| classify(&e))?;
        if js::get(&chunk, "done").as_bool().unwrap_or(true) {
            return Ok(JsValue::from_str(&String::from_utf8_lossy(&bytes)));
        }
        bytes.extend(js_sys::Uint8Array::new(&js::get(&chunk, "value")).to_vec());
    }
    bytes.truncate(cap);
    // The rest is not wanted; a rejection of the cancel says nothing.
    let cancel = reader.cancel();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = JsFuture::from(cancel).await;
    });
    Ok(JsValue::from_str(&String::from_utf8_lossy(&bytes)))
}

fn headers(h: &Headers) -> Vec<(String, String)> {
    let Ok(Some(entries)) = js_sys::try_iter(h) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|pair| {
            let pair: js_sys::Array = pair.dyn_into().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

/// Sorts a failed `fetch`. Node reports the socket error as `cause.code`; refused
/// and unresolvable connections prove the request never arrived. Browsers say only
/// "Failed to fetch", so the server may have seen it.
pub fn classify(e: &JsValue) -> NoResponse {
    let code = js::get(&js::get(e, "cause"), "code").as_string().unwrap_or_default();
    let message = describe(e);
    match code.as_str() {
        "ECONNREFUSED" | "ENOTFOUND" | "EAI_AGAIN" | "UND_ERR_CONNECT_TIMEOUT" => {
            NoResponse::Unreachable(format!("{message} ({code})"))
        }
        _ => NoResponse::Interrupted(message),
    }
}

/// A JS error's `name: message`, without anything else it might carry.
pub fn describe(e: &JsValue) -> String {
    let name = js::get(e, "name").as_string().unwrap_or_else(|| "Error".into());
    match js::get(e, "message").as_string() {
        Some(m) => format!("{name}: {m}"),
        None => e.as_string().unwrap_or(name),
    }
}
