//! The typed errors a call can end in, with the stable `name` and `code` the JS
//! classes carry.

/// Every way a call can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: the request is wrong (including an unknown model).
    BadRequest,
    /// 401: the key is missing or wrong.
    Authentication,
    /// 403.
    PermissionDenied,
    /// 404.
    NotFound,
    /// 422: the body does not fit the schema; `detail` says where.
    Validation,
    /// 402: a spending limit (of the organization, workspace, key...) is reached.
    SpendingLimit,
    /// 429 that retries could not get past (or that retrying will not help).
    RateLimit,
    /// The model is not on the plan: the server states a limit of 0 requests for it.
    ModelNotOnPlan,
    /// 5xx, or another status the API does not document.
    Server,
    /// The server's answer breaks the protocol: a reply that is not JSON (or not an
    /// object), an event stream that is malformed, JSON or nothing where a stream
    /// or a reply was due. A fault of the server (or a proxy), not of the options.
    Protocol,
    /// The connection failed or broke.
    Connection,
    /// The call's `timeoutMs` ran out.
    Timeout,
    /// The caller's `AbortSignal` fired.
    Abort,
    /// The limiter could not admit the call before its deadline.
    QueueTimeout,
    /// The options or the request cannot work as given: the caller's to change.
    Config,
    /// The client's wasm module failed (a bug); the package restarted it.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::BadRequest,
        ErrorKind::Authentication,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::Validation,
        ErrorKind::SpendingLimit,
        ErrorKind::RateLimit,
        ErrorKind::ModelNotOnPlan,
        ErrorKind::Server,
        ErrorKind::Protocol,
        ErrorKind::Connection,
        ErrorKind::Timeout,
        ErrorKind::Abort,
        ErrorKind::QueueTimeout,
        ErrorKind::Config,
        ErrorKind::Internal,
    ];

    /// The kind for an HTTP error status.
    pub fn for_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Authentication,
            402 => ErrorKind::SpendingLimit,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            422 => ErrorKind::Validation,
            429 => ErrorKind::RateLimit,
            _ => ErrorKind::Server,
        }
    }

    /// The JS class name, e.g. `RateLimitError`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequestError",
            ErrorKind::Authentication => "AuthenticationError",
            ErrorKind::PermissionDenied => "PermissionDeniedError",
            ErrorKind::NotFound => "NotFoundError",
            ErrorKind::Validation => "ValidationError",
            ErrorKind::SpendingLimit => "SpendingLimitError",
            ErrorKind::RateLimit => "RateLimitError",
            ErrorKind::ModelNotOnPlan => "ModelNotOnPlanError",
            ErrorKind::Server => "ServerError",
            ErrorKind::Protocol => "ProtocolError",
            ErrorKind::Connection => "ConnectionError",
            ErrorKind::Timeout => "TimeoutError",
            ErrorKind::Abort => "AbortError",
            ErrorKind::QueueTimeout => "QueueTimeoutError",
            ErrorKind::Config => "ConfigError",
            ErrorKind::Internal => "InternalError",
        }
    }

    /// A stable machine-readable code, e.g. `rate_limited`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Authentication => "authentication",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Validation => "validation",
            ErrorKind::SpendingLimit => "spending_limit",
            ErrorKind::RateLimit => "rate_limited",
            ErrorKind::ModelNotOnPlan => "model_not_on_plan",
            ErrorKind::Server => "server_error",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Connection => "connection",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Abort => "aborted",
            ErrorKind::QueueTimeout => "queue_timeout",
            ErrorKind::Config => "config",
            ErrorKind::Internal => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(ErrorKind::for_status(429).name(), "RateLimitError");
        assert_eq!(ErrorKind::for_status(422), ErrorKind::Validation);
        assert_eq!(ErrorKind::for_status(503), ErrorKind::Server);
        assert_eq!(ErrorKind::for_status(418), ErrorKind::Server);
        assert_eq!(ErrorKind::QueueTimeout.code(), "queue_timeout");
        assert_eq!(ErrorKind::for_status(402).name(), "SpendingLimitError");
    }
}
