//! A request's place among those in flight (`--max-in-flight`): taken when the
//! gateway admits it, given back exactly once, by whatever holds it last: the reply's
//! body when its last frame is out, or whichever of body, handler or request is
//! dropped first when the reply fails or the client goes away.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

use crate::gateway::Admission;
use crate::state::Shared;

/// Releases its admission when dropped.
#[derive(Debug)]
pub struct Slot {
    state: Shared,
    admission: Admission,
}

impl Slot {
    pub fn new(state: Shared, admission: Admission) -> Slot {
        Slot { state, admission }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Not `unwrap`: a panic while unwinding would abort the server.
        let now = self.state.now();
        let mut gateway = self.state.gateway.lock().unwrap_or_else(PoisonError::into_inner);
        gateway.release(&self.admission, now);
    }
}

/// Where a handler leaves its slot for the gate, which puts it on the reply's body.
#[derive(Clone, Debug, Default)]
pub struct Pending(Arc<Mutex<Option<Slot>>>);

impl Pending {
    pub fn put(&self, slot: Slot) {
        *self.0.lock().unwrap() = Some(slot);
    }

    /// `response`, its body holding the slot if one was left.
    pub fn hold(&self, response: Response) -> Response {
        let slot = self.0.lock().unwrap().take();
        match slot {
            Some(slot) => response.map(|body| Body::new(Held { body, slot: Some(slot) })),
            None => response,
        }
    }
}

/// A reply body that keeps its request's slot until the last frame is out.
struct Held {
    body: Body,
    slot: Option<Slot>,
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) || self.body.is_end_stream() {
            self.slot = None; // all sent, or cut off: nothing more will go out
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
