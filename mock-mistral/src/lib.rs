//! mock-mistral: an offline stand-in for Mistral's API that speaks the real wire
//! protocol (see the project's protocol reference) and enforces limits the way the
//! real gateway does, with faults on demand. Every client test runs against it.
//!
//! [`app`] builds the router (so tests can drive it without a socket); [`serve`]
//! runs it on a listener; [`start`] does both on 127.0.0.1 with a free port.

// Handlers return `Result<Response, Response>`: the error is the reply to send.
#![allow(clippy::result_large_err)]

pub mod call;
pub mod config;
pub mod faults;
pub mod gateway;
pub mod models;
mod routes;
pub mod slot;
pub mod state;
pub mod store;
pub mod text;
pub mod wire;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::call::Caller;
use crate::config::Config;
use crate::faults::Fault;
use crate::slot::Pending;
use crate::state::{AppState, Shared};
use crate::wire::{errors, ids};

/// A marker on a response: drop the connection instead of answering.
#[derive(Clone, Copy, Debug)]
pub struct ResetConnection;

/// The headers a browser page may read from our responses.
const EXPOSED: &[&str] = &[
    "mistral-correlation-id",
    "x-envoy-upstream-service-time",
    "retry-after",
    "x-ratelimit-limit-req-second",
    "x-ratelimit-remaining-req-second",
    "x-ratelimit-limit-req-minute",
    "x-ratelimit-limit-tokens-minute",
    "x-ratelimit-remaining-tokens-minute",
    "x-ratelimit-limit-tokens-month",
    "x-ratelimit-remaining-tokens-month",
    "x-ratelimit-tokens-query-cost",
];

/// The whole service: `/v1` behind the gate, `/__mock` for tests, static files with
/// `--www`, CORS for browsers.
pub fn app(state: Shared) -> Router {
    let v1 = routes::v1().layer(middleware::from_fn_with_state(state.clone(), gate));
    let mut router = Router::new().nest("/v1", v1).nest("/__mock", routes::admin());
    if let Some(dir) = &state.config.www {
        router = router.fallback_service(ServeDir::new(dir));
    }
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers(
            ["authorization", "content-type", "accept", "x-mock-fault", "x-mistral-user-agent", "user-agent"]
                .map(|h| h.parse().expect("static header names parse")),
        )
        .expose_headers(EXPOSED.iter().map(|h| h.parse().expect("static header names parse")).collect::<Vec<_>>());
    router.layer(middleware::from_fn(correlate)).layer(cors).with_state(state)
}

/// Every response carries a correlation id, as the real API's do.
async fn correlate(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let id = HeaderValue::from_str(&ids::correlation_id()).expect("ids are ASCII");
    r.headers_mut().insert("mistral-correlation-id", id.clone());
    r.headers_mut().insert("x-kong-request-id", id);
    r
}

/// In front of every `/v1` route: count the arrival, check the key, pick and act out
/// the fault, count the answer, keep an admitted request in flight until its reply
/// is sent.
async fn gate(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    // Inside `nest` the URI has lost its `/v1`; the original keeps it.
    let path =
        req.extensions().get::<OriginalUri>().map_or_else(|| req.uri().path().to_owned(), |u| u.path().to_owned());
    let route = format!("{} {path}", req.method());
    let arrived = Instant::now();
    let now = state.now();
    state.gateway.lock().unwrap().stats.arrived(now);
    let slot = Pending::default();
    let response = async {
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        let Some(key) = state.gateway.lock().unwrap().authenticate(auth) else {
            return errors::unauthorized();
        };
        let fault = match req.headers().get("x-mock-fault").map(|v| v.to_str().unwrap_or("").parse::<Fault>()) {
            Some(Ok(f)) => Some(f),
            Some(Err(message)) => return errors::api_error(StatusCode::BAD_REQUEST, &message, "mock_error", None),
            None => state.faults.lock().unwrap().draw(),
        };
        match fault {
            Some(Fault::Status(s)) => return errors::server_error(StatusCode::from_u16(s).expect("5xx codes")),
            Some(Fault::Capacity) => {
                state.gateway.lock().unwrap().stats.rate_limited();
                return errors::capacity_exceeded(StatusCode::TOO_MANY_REQUESTS);
            }
            Some(Fault::Capacity503) => return errors::capacity_exceeded(StatusCode::SERVICE_UNAVAILABLE),
            Some(Fault::OutOfCapacity) => return errors::out_of_capacity(),
            Some(f @ (Fault::RateLimited | Fault::RateLimitedRetryAfter)) => {
                state.gateway.lock().unwrap().stats.rate_limited();
                let retry_after = (f == Fault::RateLimitedRetryAfter).then_some(1);
                return errors::rate_limited("Rate limit exceeded", retry_after, &[]);
            }
            Some(Fault::RateLimitedLegacy) => {
                state.gateway.lock().unwrap().stats.rate_limited();
                return errors::rate_limited_legacy();
            }
            Some(Fault::Reset) => {
                let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                r.extensions_mut().insert(ResetConnection);
                return r;
            }
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::Slow) => tokio::time::sleep(state.config.slow).await,
            _ => {}
        }
        req.extensions_mut().insert(Caller { key, fault, slot: slot.clone() });
        next.run(req).await
    }
    .await;
    state.gateway.lock().unwrap().stats.answered(route, response.status().as_u16());
    // As the real API's envoy does: how long the request spent inside, so a client
    // can tell network transit from processing. `--timing-header off` leaves it out,
    // as some deployments do, so clients are tested without it.
    let mut response = response;
    if state.config.timing_header {
        let inside = arrived.elapsed().as_millis().to_string();
        response.headers_mut().insert("x-envoy-upstream-service-time", HeaderValue::from_str(&inside).expect("digits"));
    }
    slot.hold(response)
}

/// Serves `app` on `listener` until the task is dropped. Each connection is served
/// by hyper directly so that a [`ResetConnection`] response can drop it unanswered.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                async move {
                    let r = app.oneshot(req.map(Body::new)).await.unwrap_or_else(|never| match never {});
                    if r.extensions().get::<ResetConnection>().is_some() {
                        Err(std::io::Error::other("connection reset by x-mock-fault"))
                    } else {
                        Ok(r)
                    }
                }
            });
            // Errors here are clients going away or faults acted out: nothing to do.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds `config.host:config.port` (0 for a free port) and serves in the background.
pub async fn start(config: Config) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(config);
    Ok((addr, tokio::spawn(serve(listener, app(state)))))
}
