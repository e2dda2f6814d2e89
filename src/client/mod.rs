//! The pure half of the client: what each operation is, what a request will cost,
//! the call machine that runs it, and what it did cost. The wasm edge and the
//! simulator do the I/O around these.
//!
//! It imports the limiter, the budget's view of a lease, `feedback`, `retry`, `sse`
//! and `tokenizer`, never the edge; `views` shapes what `status()` and `metrics()`
//! show.

pub mod alerts;
pub mod barred;
pub mod calibration;
pub mod call;
mod call_error;
pub mod call_options;
pub mod context;
pub mod error_kind;
pub mod estimate;
pub mod event;
pub mod metrics;
pub mod model_metrics;
pub mod operation;
pub mod options;
pub mod prompt_cache;
pub mod state;
pub mod usage;
pub mod views;

pub use self::call::{Action, Call, Input, Lost, Now, Plan, Reply};
pub use self::call_error::CallError;
pub use self::call_options::{CallOptions, CallSettings};
pub use self::context::ConversationContext;
pub use self::error_kind::ErrorKind;
pub use self::estimate::{Estimator, Heuristic, OutputHistory};
pub use self::event::Event;
pub use self::metrics::Stats;
pub use self::operation::{Kind, Tokens};
pub use self::options::{ClientConfig, ClientOptions, Timeouts};
pub use self::state::ClientState;
pub use self::usage::Usage;
pub use self::views::{MetricsView, StatusView};
