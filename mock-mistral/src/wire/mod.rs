//! The API's wire formats: error shapes, body validation, ids and times, SSE.

pub mod errors;
pub mod ids;
pub mod query;
pub mod sse;
pub mod validate;
