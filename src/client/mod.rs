//! The pure half of the client: what each operation is, what a request will cost,
//! and what it did cost. The wasm edge does the I/O around these.

pub mod context;
pub mod error_kind;
pub mod estimate;
pub mod metrics;
pub mod operation;
pub mod options;
pub mod usage;

pub use self::context::ConversationContext;
pub use self::error_kind::ErrorKind;
pub use self::estimate::{Estimator, Heuristic, OutputHistory};
pub use self::metrics::Stats;
pub use self::operation::Kind;
pub use self::options::{ClientConfig, ClientOptions};
pub use self::usage::Usage;
